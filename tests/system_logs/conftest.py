"""System log tests reuse the OCPP tests' live server and world (one site, two stations)."""

from tests.ocpp.conftest import ocpp_server, world

__all__ = ["ocpp_server", "world"]
