"""Simulated charging stations ("scenarios"): `vev-iq simulate` and the demo.

- `curve`: a car charging (constant power, then a taper above ~80 % state of charge);
- `station`: one station over OCPP 1.6J or 2.0.1 (the `ocpp` library's client side);
- `scenario`: N stations against one server, built from command-line options.
"""

from backend.simulator.curve import Car, ChargingCurve
from backend.simulator.scenario import Scenario, ocpp_url, station_specs
from backend.simulator.station import Behaviour, SimulatedStation, StationSpec

__all__ = [
    "Behaviour",
    "Car",
    "ChargingCurve",
    "Scenario",
    "SimulatedStation",
    "StationSpec",
    "ocpp_url",
    "station_specs",
]
