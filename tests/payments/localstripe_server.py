"""Runs localstripe (PyPI) on 127.0.0.1 only, for the tests: `python -m ... PORT`.

localstripe's own `start()` listens on every interface and pickles its store to a fixed file in
/tmp after each write; the tests want loopback only and nothing shared between runs.
"""

from __future__ import annotations

import sys

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    port = int(sys.argv[1])
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    web.run_app(server.app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
