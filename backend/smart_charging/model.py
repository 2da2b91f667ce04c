"""The planner's input: a tree of current limits, the sessions charging under it, and the
time slots to plan. Plain frozen dataclasses; no database, OCPP or clock.

Units: currents are amps *per phase* (what an OCPP charging profile in ``A`` means), energy
is Wh, times are seconds from the start of the plan (slot 0 starts "now").

Phases: every limit is expressed on the *grid* phases L1, L2, L3 of the site (indices 0, 1,
2). A session says which phases of its *connector* the car uses (1, 2, 3 — a one-phase car
uses connector phase 1); the connector's ``phase_rotation`` (OCPP
``ConnectorPhaseRotation``: RST, RTS, SRT, STR, TRS, TSR) says which grid phase each
connector phase is wired to. When either is unknown the session is assumed to load all
three grid phases.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

PHASES = (0, 1, 2)
NOMINAL_VOLTAGE_V = 230.0
IEC_61851_MIN_CURRENT_A = 6.0
ROTATIONS = ("RST", "RTS", "SRT", "STR", "TRS", "TSR")

PhaseCurrents = tuple[float, float, float]


def phase_limits_from_power(
    power_w: float, voltage_v: float = NOMINAL_VOLTAGE_V, phases: int = 3, phase: int = 1
) -> PhaseCurrents:
    """Per-phase current limit of a node given as a power.

    ``phases=3``: the power spread over three phases (``P / (3·V)`` each). ``phases=1``:
    the whole power on one grid ``phase`` (1, 2 or 3), the others at 0 A. ``voltage_v`` is
    the phase-to-neutral voltage (230 V in Europe).
    """
    if phases == 3:
        amps = power_w / (3.0 * voltage_v)
        return (amps, amps, amps)
    if phases == 1:
        if phase not in (1, 2, 3):
            raise ValueError("phase must be 1, 2 or 3")
        out = [0.0, 0.0, 0.0]
        out[phase - 1] = power_w / voltage_v
        return (out[0], out[1], out[2])
    raise ValueError("phases must be 1 or 3")


def power_from_current(amps: float, phases: int, voltage_v: float = NOMINAL_VOLTAGE_V) -> float:
    """Power in W of ``amps`` per phase on ``phases`` phases."""
    return amps * phases * voltage_v


def grid_phases(connector_phases: Sequence[int] | None, rotation: str | None) -> tuple[int, ...]:
    """Grid phase indices (0..2) loaded by a car using ``connector_phases`` (1..3) on a
    connector wired with ``rotation``. Unknown phases or unknown rotation of a car that does
    not use all three: all three grid phases (the safe assumption)."""
    if connector_phases is None or len(set(connector_phases)) == 0:
        return PHASES
    used = sorted(set(connector_phases))
    if len(used) == 3:
        return PHASES
    if rotation is None or rotation not in ROTATIONS:
        return PHASES
    return tuple(sorted({"RST".index(rotation[p - 1]) for p in used}))


@dataclass(frozen=True)
class Node:
    """A node of the limit tree: site, site area (possibly nested), station or connector.

    ``max_current``: the most this node may carry on each grid phase (A). ``other_load``:
    current on each grid phase used by things the planner does not control (building,
    a station that refuses profiles…), to leave room for. ``children``: sub-nodes.
    Connectors are the leaves sessions point at; ``phase_rotation`` (connectors only)
    maps the connector's phases to grid phases and ``min_current`` is the least current the
    connector can offer other than 0.
    """

    id: str
    max_current: PhaseCurrents
    other_load: PhaseCurrents = (0.0, 0.0, 0.0)
    children: tuple[Node, ...] = ()
    phase_rotation: str | None = "RST"
    min_current: float = 0.0

    def walk(self) -> Iterator[tuple[Node, tuple[Node, ...]]]:
        """Every node with its ancestors (root first), depth first."""
        stack: list[tuple[Node, tuple[Node, ...]]] = [(self, ())]
        while stack:
            node, ancestors = stack.pop()
            yield node, ancestors
            for child in reversed(node.children):
                stack.append((child, (*ancestors, node)))

    def headroom(self) -> PhaseCurrents:
        """Current left for the planned sessions on each phase (never negative)."""
        h = [max(0.0, m - o) for m, o in zip(self.max_current, self.other_load, strict=True)]
        return (h[0], h[1], h[2])


@dataclass(frozen=True)
class Session:
    """A car plugged into ``connector_id``.

    ``phases``: connector phases the car uses, e.g. ``(1,)`` or ``(1, 2, 3)``; ``None`` if not
    known yet (assume three). ``min_current``/``max_current``: what the car accepts per
    phase other than 0 (IEC 61851: 6 A for AC). ``energy_wanted_wh``: still wanted;
    ``departure_s``: seconds from now (``None``: stays past the horizon). ``priority``:
    higher is served first, 0 is normal. ``measured_current``: the highest per-phase current
    the car draws now and ``offered_current`` the limit it was offered; a car drawing
    clearly less than offered is planned at what it draws, so the headroom goes to others.
    ``learned_current``: what the car has shown it takes, kept by the caller from run to run
    (:func:`learned_max_current`). A car planned at what it has shown it takes gets a little
    more (up to ``max_current``) only from capacity nobody else was planned to use: that is
    how a car that can take more again shows it without holding capacity back from others.
    """

    id: str
    connector_id: str
    max_current: float
    energy_wanted_wh: float
    departure_s: float | None = None
    phases: tuple[int, ...] | None = (1, 2, 3)
    min_current: float = IEC_61851_MIN_CURRENT_A
    priority: int = 0
    measured_current: float | None = None
    offered_current: float | None = None
    learned_current: float | None = None

    @property
    def phase_count(self) -> int:
        return 3 if self.phases is None else len(set(self.phases))


@dataclass(frozen=True)
class Horizon:
    """Consecutive time slots starting now, each with its length in seconds (15 min or
    finer; slots may differ, e.g. 5-minute slots for the first hour then 15-minute ones)."""

    durations_s: tuple[float, ...]

    @classmethod
    def uniform(cls, slot_s: float, count: int) -> Horizon:
        return cls(tuple([float(slot_s)] * count))

    @classmethod
    def covering(
        cls, seconds: float, slot_s: float = 900.0, fine_s: float = 0.0, fine_slot_s: float = 300.0
    ) -> Horizon:
        """Slots covering ``seconds``: ``fine_slot_s`` slots for the first ``fine_s``
        seconds, ``slot_s`` slots after."""
        out: list[float] = []
        t = 0.0
        while t < fine_s and t < seconds:
            out.append(fine_slot_s)
            t += fine_slot_s
        while t < seconds:
            out.append(slot_s)
            t += slot_s
        return cls(tuple(out) or (slot_s,))

    def __len__(self) -> int:
        return len(self.durations_s)

    @property
    def starts_s(self) -> tuple[float, ...]:
        out, t = [], 0.0
        for d in self.durations_s:
            out.append(t)
            t += d
        return tuple(out)

    @property
    def end_s(self) -> float:
        return math.fsum(self.durations_s)


@dataclass(frozen=True)
class Problem:
    """Everything one planning run needs. ``prices``: optional time-of-use price per slot
    (any currency per kWh; only its shape matters)."""

    root: Node
    sessions: tuple[Session, ...]
    horizon: Horizon
    prices: tuple[float, ...] | None = None
    voltage_v: float = NOMINAL_VOLTAGE_V

    def __post_init__(self) -> None:
        ids = [n.id for n, _ in self.root.walk()]
        if len(ids) != len(set(ids)):
            raise ValueError("node ids must be unique")
        leaves = {n.id for n, _ in self.root.walk()}
        seen: set[str] = set()
        for s in self.sessions:
            if s.id in seen:
                raise ValueError(f"duplicate session {s.id}")
            seen.add(s.id)
            if s.connector_id not in leaves:
                raise ValueError(f"session {s.id}: unknown connector {s.connector_id}")
        if self.prices is not None and len(self.prices) != len(self.horizon):
            raise ValueError("one price per slot")
        if any(d <= 0 for d in self.horizon.durations_s):
            raise ValueError("slot durations must be positive")


@dataclass(frozen=True)
class Plan:
    """A current limit (A per phase) per session per slot. ``method`` says which planner
    produced it (``"lp"``, ``"heuristic"``); ``notes`` why a fallback was used."""

    horizon: Horizon
    currents: dict[str, tuple[float, ...]]
    method: str
    solve_time_s: float = 0.0
    notes: tuple[str, ...] = field(default=())

    def now(self, session_id: str) -> float:
        """The limit to push now (slot 0)."""
        values = self.currents.get(session_id)
        return values[0] if values else 0.0

    def periods(self, session_id: str, max_periods: int | None = None) -> list[tuple[float, float]]:
        """The session's schedule as ``(start_s, limit_a)`` periods, equal neighbours
        merged — the shape of an OCPP ``chargingSchedulePeriod`` list. With ``max_periods``
        (the station's ``ChargingScheduleMaxPeriods``) the tail is cut into one last period at
        the lowest limit it held, so the schedule never offers more than the plan."""
        values = self.currents.get(session_id, ())
        out: list[tuple[float, float]] = []
        for start, v in zip(self.horizon.starts_s, values, strict=False):
            if not out or out[-1][1] != v:
                out.append((start, v))
        if max_periods is not None and len(out) > max_periods >= 1:
            tail = min(v for _, v in out[max_periods - 1 :])
            out = [*out[: max_periods - 1], (out[max_periods - 1][0], tail)]
        return out


def learned_max_current(
    declared_a: float,
    learned_a: float | None,
    offered_a: float | None,
    measured_a: float | None,
    min_a: float = IEC_61851_MIN_CURRENT_A,
    tolerance_a: float = 0.5,
) -> float | None:
    """What a car has shown it takes, kept from run to run by the caller (pass it as the
    session's ``learned_current``): a car drawing clearly less than offered is known to take
    what it draws; a car drawing clearly more than that, because it was given some spare
    capacity, is let up again (forgotten). ``None``: nothing learned, use ``declared_a``.

    No margin is added to what it draws: an amp kept free "in case" above every such car is
    an amp no other car gets when the site is full (the bench measured it at a tight limit).
    """
    if offered_a is None or measured_a is None:
        return learned_a
    if measured_a < offered_a - tolerance_a:
        return min(declared_a, max(min_a, measured_a))
    if learned_a is not None and measured_a > learned_a + tolerance_a:
        return None  # it took the spare it was given: it may take more
    return learned_a
