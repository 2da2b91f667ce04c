"""Load management: the smart charging planner (`backend.smart_charging`) put to work on the
database and the stations. `problem` reads a site area into the planner's input, `runner`
runs it and pushes OCPP charging profiles (`profiles`: which ones), `composite` checks that
a station keeps to them, `release` clears them when a station leaves smart charging, `lease`
keeps one run per area at a time across server processes, `goals` holds what drivers ask for
and what the site area page shows."""

from backend.domain.load_management.runner import LoadManager, RunReport, run_unit

__all__ = ["LoadManager", "RunReport", "run_unit"]
