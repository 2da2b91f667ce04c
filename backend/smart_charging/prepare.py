"""Compile a :class:`Problem` into arrays both planners share: per session its effective
min/max current, the energy one amp gives in each slot, the slots before it leaves; and
the distinct (set of sessions, capacity) constraints of the tree, one per node and phase."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.smart_charging.model import Node, Problem, Session, grid_phases

#: a car drawing this much less than offered is said to leave headroom
HEADROOM_TOLERANCE_A = 0.5
#: it is then planned at what it draws, and gets up to this much more from capacity nobody
#: else was planned to use (more than the tolerance, so that taking it shows)
HEADROOM_MARGIN_A = 1.0
EPS_WH = 1e-6


@dataclass(frozen=True)
class Group:
    """On every slot, the sum of ``members``' currents must stay within ``cap``."""

    members: tuple[int, ...]
    cap: float
    node_id: str
    phase: int


@dataclass
class Prepared:
    problem: Problem
    sessions: list[Session]  # plannable ones; others get 0
    n_slots: int
    durations: np.ndarray  # (T,) s
    starts: np.ndarray  # (T,) s
    min_a: np.ndarray  # (S,)
    max_a: np.ndarray  # (S,) planned at most
    spare_a: np.ndarray  # (S,) at most, from capacity left over once every car is planned
    wanted_wh: np.ndarray  # (S,)
    end_slot: np.ndarray  # (S,) int: slots [0, end) are before departure
    wh_per_a: np.ndarray  # (S, T): energy of 1 A per phase over the slot (0 after departure)
    priority: np.ndarray  # (S,)
    departure_s: np.ndarray  # (S,)
    groups: list[Group]  # constraints with two or more members
    session_groups: list[list[int]]  # group indices per session
    root_groups: list[int | None]  # per grid phase, the group of the root node, if any
    phases_of: list[tuple[int, ...]]  # grid phases per session
    skipped: list[Session]  # sessions not planned (full, gone, or cannot get their minimum)


def shown_caps(session: Session) -> tuple[float, float]:
    """The most a car is planned at, and the most it may get from spare capacity: its max,
    or, once it has shown it takes less (learned, or drawing clearly less than offered
    now), what it takes, and a margin above that from spare capacity only."""
    m = session.max_current
    shown = session.learned_current
    if (
        session.measured_current is not None
        and session.offered_current is not None
        and session.measured_current < session.offered_current - HEADROOM_TOLERANCE_A
    ):
        now = session.measured_current
        shown = now if shown is None else min(shown, now)
    if shown is None or shown >= m:
        return m, m
    cap = max(session.min_current, shown)
    return min(m, cap), min(m, cap + HEADROOM_MARGIN_A)


def prepare(problem: Problem) -> Prepared:
    horizon = problem.horizon
    durations = np.asarray(horizon.durations_s, dtype=float)
    starts = np.concatenate(([0.0], np.cumsum(durations)[:-1]))
    n_slots = len(durations)
    end_s = float(durations.sum())

    connectors: dict[str, tuple[Node, tuple[Node, ...]]] = {
        n.id: (n, anc) for n, anc in problem.root.walk()
    }
    sessions: list[Session] = []
    skipped: list[Session] = []
    mins: list[float] = []
    maxs: list[float] = []
    spares: list[float] = []
    phases_of: list[tuple[int, ...]] = []
    chains: list[tuple[Node, ...]] = []
    for s in problem.sessions:
        conn, anc = connectors[s.connector_id]
        phases = grid_phases(s.phases, conn.phase_rotation)
        lo = max(s.min_current, conn.min_current, 0.0)
        hi, spare = shown_caps(s)
        for node in (*anc, conn):
            room = node.headroom()
            hi = min(hi, *(room[p] for p in phases))
            spare = min(spare, *(room[p] for p in phases))
        departs = end_s if s.departure_s is None else min(s.departure_s, end_s)
        if s.energy_wanted_wh <= EPS_WH or departs <= 0 or hi < lo or hi <= 0:
            skipped.append(s)
            continue
        sessions.append(s)
        mins.append(lo)
        maxs.append(hi)
        spares.append(max(hi, spare))
        phases_of.append(phases)
        chains.append((*anc, conn))

    n = len(sessions)
    departure = np.array(
        [end_s if s.departure_s is None else min(s.departure_s, end_s) for s in sessions]
    )
    n_phase = np.array([s.phase_count for s in sessions], dtype=float)
    if n:
        seconds = np.clip(departure[:, None] - starts[None, :], 0.0, durations[None, :])
        wh_per_a = problem.voltage_v * n_phase[:, None] * seconds / 3600.0
        end_slot = np.count_nonzero(starts[None, :] < departure[:, None], axis=1)
    else:
        wh_per_a = np.zeros((0, n_slots))
        end_slot = np.zeros(0, dtype=int)

    # one constraint per (node, phase); identical member sets keep the tightest capacity
    by_members: dict[tuple[int, ...], Group] = {}
    members_of: dict[tuple[str, int], list[int]] = {}
    for i, chain in enumerate(chains):
        for node in chain:
            for p in phases_of[i]:
                members_of.setdefault((node.id, p), []).append(i)
    nodes = {node.id: node for node, _ in problem.root.walk()}
    root_members: dict[int, tuple[int, ...]] = {}
    for (node_id, p), members in members_of.items():
        key = tuple(members)
        cap = nodes[node_id].headroom()[p]
        if node_id == problem.root.id:
            root_members[p] = key
        if len(key) < 2:
            continue  # already folded into the session's max
        old = by_members.get(key)
        if old is None or cap < old.cap:
            by_members[key] = Group(key, cap, node_id, p)
    groups = list(by_members.values())
    index = {g.members: gi for gi, g in enumerate(groups)}
    session_groups: list[list[int]] = [[] for _ in range(n)]
    for gi, g in enumerate(groups):
        for i in g.members:
            session_groups[i].append(gi)
    root_groups: list[int | None] = [
        index.get(root_members[p]) if p in root_members else None for p in range(3)
    ]
    return Prepared(
        problem=problem,
        sessions=sessions,
        n_slots=n_slots,
        durations=durations,
        starts=starts,
        min_a=np.array(mins),
        max_a=np.array(maxs),
        spare_a=np.array(spares),
        wanted_wh=np.array([s.energy_wanted_wh for s in sessions]),
        end_slot=end_slot,
        wh_per_a=wh_per_a,
        priority=np.array([s.priority for s in sessions], dtype=float),
        departure_s=departure,
        groups=groups,
        session_groups=session_groups,
        root_groups=root_groups,
        phases_of=phases_of,
        skipped=skipped,
    )
