"""Smart charging planner: pure functions from a tree of limits and the sessions under it
to a current limit per session per time slot. No database, OCPP or clock inside; the
integration (profiles, triggers, locking) lives elsewhere."""

from backend.smart_charging.heuristic import plan_heuristic
from backend.smart_charging.model import (
    IEC_61851_MIN_CURRENT_A,
    Horizon,
    Node,
    Plan,
    Problem,
    Session,
    grid_phases,
    phase_limits_from_power,
    power_from_current,
)
from backend.smart_charging.planner import Objective, PlannerOptions, plan
from backend.smart_charging.verify import verify

__all__ = [
    "IEC_61851_MIN_CURRENT_A",
    "Horizon",
    "Node",
    "Objective",
    "Plan",
    "PlannerOptions",
    "Problem",
    "Session",
    "grid_phases",
    "phase_limits_from_power",
    "plan",
    "plan_heuristic",
    "power_from_current",
    "verify",
]
