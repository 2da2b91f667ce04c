"""An independent check of a plan's guarantees, used by the tests and by the planner before
a plan is pushed. It reads only the :class:`Problem` and the :class:`Plan` (not the
planner's internal arrays) and returns what is wrong, an empty list when nothing is:

- every node of the tree, on every grid phase, in every slot, carries at most its maximum
  less its other loads;
- every session gets 0 or at least its minimum (and the connector's), never more than the
  car's maximum, nothing from the slot it leaves in on;
- no session is offered energy once it has what it wants, and in the slot it gets full,
  no more current than it needs — except rounding that last slot up to its minimum.
"""

from __future__ import annotations

import math

import numpy as np

from backend.smart_charging.model import Node, Plan, Problem

TOL_A = 1e-6
TOL_WH = 1e-6
_ROTATIONS = ("RST", "RTS", "SRT", "STR", "TRS", "TSR")


def _grid(phases: tuple[int, ...] | None, rotation: str | None) -> set[int]:
    if phases is None or len(set(phases)) in (0, 3) or rotation not in _ROTATIONS:
        return {0, 1, 2}
    assert rotation is not None
    letters = {rotation[p - 1] for p in phases}
    return {"RST".index(c) for c in letters}


def verify(problem: Problem, plan: Plan, tol_a: float = TOL_A) -> list[str]:
    errors: list[str] = []
    n_slots = len(problem.horizon)
    durations = np.asarray(problem.horizon.durations_s, dtype=float)
    starts = np.concatenate(([0.0], np.cumsum(durations)[:-1]))
    known = {s.id for s in problem.sessions}
    for sid in plan.currents:
        if sid not in known:
            errors.append(f"plan for unknown session {sid}")
    sessions = list(problem.sessions)
    x = np.zeros((len(sessions), n_slots))
    for i, s in enumerate(sessions):
        row = plan.currents.get(s.id)
        if row is None:
            errors.append(f"{s.id}: missing from the plan")
            continue
        if len(row) != n_slots:
            errors.append(f"{s.id}: {len(row)} slots, expected {n_slots}")
            continue
        x[i] = row
    if not np.all(np.isfinite(x)):
        return [*errors, "non-finite current"]
    if np.any(x < 0):
        errors.append("negative current")

    parent_chain: dict[str, list[Node]] = {}

    def walk(node: Node, chain: list[Node]) -> None:
        parent_chain[node.id] = [*chain, node]
        for child in node.children:
            walk(child, [*chain, node])

    walk(problem.root, [])

    # per-session rules
    for i, s in enumerate(sessions):
        conn = parent_chain[s.connector_id][-1]
        lo = max(s.min_current, conn.min_current)
        row = x[i]
        on = row > tol_a
        if np.any(on & (row < lo - tol_a)):
            t = int(np.flatnonzero(on & (row < lo - tol_a))[0])
            errors.append(f"{s.id}: {row[t]:.3f} A in slot {t}, below its minimum {lo} A")
        if np.any(row > s.max_current + tol_a):
            t = int(np.argmax(row))
            errors.append(f"{s.id}: {row[t]:.3f} A in slot {t}, above the car's {s.max_current} A")
        dep = math.inf if s.departure_s is None else s.departure_s
        gone = starts >= dep
        if np.any(on & gone):
            errors.append(f"{s.id}: current planned after departure")
        seconds = np.clip(dep - starts, 0.0, durations)
        wh_per_a = problem.voltage_v * s.phase_count * seconds / 3600.0
        before = 0.0
        for t in (int(v) for v in np.flatnonzero(on & ~gone)):
            left = s.energy_wanted_wh - before
            if left <= TOL_WH:
                errors.append(f"{s.id}: offered energy in slot {t} after it is full")
                break
            need = left / wh_per_a[t] if wh_per_a[t] > 1e-12 else math.inf
            if row[t] > max(lo, need) + tol_a:
                errors.append(
                    f"{s.id}: {row[t]:.3f} A in slot {t}, more than the {need:.3f} A it still needs"
                )
                break
            before += row[t] * wh_per_a[t]

    # node limits, every phase, every slot
    load = {node_id: np.zeros((3, n_slots)) for node_id in parent_chain}
    for i, s in enumerate(sessions):
        chain = parent_chain[s.connector_id]
        for p in _grid(s.phases, chain[-1].phase_rotation):
            for node in chain:
                load[node.id][p] += x[i]
    for node_id, per_phase in load.items():
        node = parent_chain[node_id][-1]
        for p in range(3):
            cap = max(0.0, node.max_current[p] - node.other_load[p])
            over = per_phase[p] - cap
            if np.any(over > tol_a * max(1, len(sessions))):
                t = int(np.argmax(over))
                errors.append(
                    f"node {node_id} phase L{p + 1} slot {t}: {per_phase[p][t]:.3f} A > {cap:.3f} A"
                )
    return errors
