"""Property tests: on random trees and sessions, the plans of the LP planner and of the
heuristic keep every guarantee that verify() checks (node limits on every phase, 0 or at
least the minimum, at most the car's max, never more energy than wanted)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.smart_charging import (
    Horizon,
    Node,
    Plan,
    PlannerOptions,
    Problem,
    Session,
    plan,
    plan_heuristic,
    verify,
)
from backend.smart_charging.model import ROTATIONS

amps = st.floats(min_value=0.0, max_value=80.0, allow_nan=False)
phase_limits = st.tuples(amps, amps, amps)


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    counter = iter(range(10_000))
    connectors: list[str] = []

    def node(depth: int) -> Node:
        nid = f"n{next(counter)}"
        limit = draw(phase_limits)
        other = (
            draw(st.tuples(*[st.floats(0.0, 10.0)] * 3)) if draw(st.booleans()) else (0.0, 0.0, 0.0)
        )
        if depth >= 3 or (depth >= 1 and draw(st.integers(0, 3)) == 0):
            connectors.append(nid)
            return Node(
                nid,
                limit,
                other,
                phase_rotation=draw(st.sampled_from([*ROTATIONS, None])),
                min_current=draw(st.sampled_from([0.0, 0.0, 6.0, 8.0])),
            )
        kids = tuple(node(depth + 1) for _ in range(draw(st.integers(1, 3))))
        return Node(nid, limit, other, children=kids)

    root = node(0)
    sessions = []
    for i, conn in enumerate(draw(st.lists(st.sampled_from(connectors), max_size=8))):
        lo = draw(st.sampled_from([6.0, 6.0, 0.0, 8.0]))
        sessions.append(
            Session(
                id=f"s{i}",
                connector_id=conn,
                max_current=draw(st.floats(0.0, 40.0)),
                energy_wanted_wh=draw(st.floats(0.0, 60_000.0)),
                departure_s=draw(st.none() | st.floats(0.0, 30_000.0)),
                phases=draw(st.sampled_from([None, (1,), (2,), (3,), (1, 2), (1, 2, 3)])),
                min_current=lo,
                priority=draw(st.integers(0, 2)),
                measured_current=draw(st.none() | st.floats(0.0, 32.0)),
                offered_current=draw(st.none() | st.floats(0.0, 32.0)),
                learned_current=draw(st.none() | st.floats(0.0, 32.0)),
            )
        )
    durations = draw(st.lists(st.sampled_from([60.0, 300.0, 900.0]), min_size=1, max_size=12))
    prices = draw(
        st.none() | st.lists(st.floats(0.0, 1.0), min_size=len(durations), max_size=len(durations))
    )
    return Problem(
        root, tuple(sessions), Horizon(tuple(durations)), None if prices is None else tuple(prices)
    )


def energy_ok(problem: Problem, result: Plan) -> None:
    for s in problem.sessions:
        row = result.currents[s.id]
        assert all(v == 0 or v >= s.min_current - 1e-6 for v in row)
        assert all(v <= s.max_current + 1e-6 for v in row)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_solver_plan_keeps_every_guarantee(problem: Problem) -> None:
    result = plan(problem)
    assert verify(problem, result) == [], result.notes
    assert result.method == "lp", result.notes  # the LP path itself, not the fallback
    energy_ok(problem, result)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_heuristic_plan_keeps_every_guarantee(problem: Problem) -> None:
    result = plan_heuristic(problem)
    assert result.method == "heuristic"
    assert verify(problem, result) == []
    energy_ok(problem, result)


@settings(max_examples=100, deadline=None)
@given(problems())
def test_fallback_without_solver_keeps_every_guarantee(problem: Problem) -> None:
    result = plan(problem, PlannerOptions(use_solver=False))
    assert result.method == "heuristic"
    assert verify(problem, result) == []


@settings(max_examples=100, deadline=None)
@given(problems())
def test_heuristic_out_of_time_is_still_safe(problem: Problem) -> None:
    ticks = iter(range(1_000_000))
    result = plan_heuristic(problem, budget_s=0.5, timer=lambda: float(next(ticks)))
    assert verify(problem, result) == []
