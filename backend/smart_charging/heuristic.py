"""The fast fallback: slot by slot, turn on as many cars at their minimum as the tree
allows (least laxity first), then raise them towards their maximum in the same order.

It never breaks a limit by construction (every amp it hands out is taken from the
remaining capacity of each constraint the session is in), so the planner also uses its
slot allocator to repair the LP's relaxed solution into a plan where every car gets 0 or
at least its minimum. With a time budget, slots it has no time for are planned at 0 —
still safe; slot 0, the one pushed now, is always planned.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from backend.smart_charging.model import Plan, Problem
from backend.smart_charging.prepare import EPS_WH, Prepared, prepare

TOL = 1e-9
RESOLUTION_A = 0.1


def slot_bounds(
    prep: Prepared, t: int, remaining: np.ndarray, ceiling: np.ndarray | None = None
) -> np.ndarray:
    """Highest current each session may get in slot ``t``: its max (or ``ceiling``), lowered
    to what it still needs (but never below its minimum — the last slot may round up to it),
    0 when it is full or gone."""
    ceiling = prep.max_a if ceiling is None else ceiling
    hi = np.zeros(len(prep.sessions))
    wh = prep.wh_per_a[:, t] if len(prep.sessions) else np.zeros(0)
    live = (remaining > EPS_WH) & (wh > 0)
    with np.errstate(over="ignore"):
        need = np.divide(remaining, wh, out=np.zeros_like(remaining), where=wh > 0)
    hi[live] = np.minimum(ceiling[live], np.maximum(prep.min_a[live], need[live]))
    return hi


class SlotAllocator:
    """Hands out current in one slot without ever exceeding a group's capacity."""

    def __init__(self, prep: Prepared) -> None:
        self.prep = prep
        self.caps = np.array([g.cap for g in prep.groups], dtype=float)
        self.groups_of = prep.session_groups

    def start(self) -> tuple[np.ndarray, np.ndarray]:
        self.on = np.zeros(len(self.prep.sessions), dtype=bool)
        return np.zeros(len(self.prep.sessions)), self.caps.copy()

    def room(self, i: int, cap: np.ndarray) -> float:
        gs = self.groups_of[i]
        return float(min(cap[g] for g in gs)) if gs else math.inf

    def give(self, i: int, amount: float, values: np.ndarray, cap: np.ndarray) -> None:
        values[i] += amount
        for g in self.groups_of[i]:
            cap[g] -= amount

    def switch_on(
        self, order: Sequence[int], values: np.ndarray, cap: np.ndarray, lo: np.ndarray
    ) -> None:
        for i in order:
            if not self.on[i] and self.room(i, cap) >= lo[i] - TOL:
                self.on[i] = True
                self.give(i, float(lo[i]), values, cap)

    def raise_to(
        self, order: Sequence[int], values: np.ndarray, cap: np.ndarray, target: np.ndarray
    ) -> float:
        """Raise the sessions that are on towards ``target``; returns what was handed out."""
        total = 0.0
        for i in order:
            if not self.on[i]:
                continue
            add = min(float(target[i]) - values[i], self.room(i, cap))
            if add > TOL:
                self.give(i, add, values, cap)
                total += add
        return total


def floor_to_resolution(
    values: np.ndarray, lo: np.ndarray, res: float = RESOLUTION_A
) -> np.ndarray:
    """Round down to the station's resolution, never below the minimum of a car that is on
    (lowering a current cannot break a limit)."""
    floored = np.floor(values / res + 1e-9) * res
    out = np.where(values > 0, np.maximum(floored, lo), 0.0)
    return np.minimum(out, values)  # a minimum that is not a multiple of res stays exact


def top_up(
    alloc: SlotAllocator,
    order: Sequence[int],
    values: np.ndarray,
    hi: np.ndarray,
    res: float = RESOLUTION_A,
    budget: float = math.inf,
) -> np.ndarray:
    """After rounding down, hand capacity back in whole ``res`` steps (at most ``budget``
    amps in all, e.g. what the rounding took)."""
    cap = alloc.caps.copy()
    for i, v in enumerate(values):
        if v > 0:
            for g in alloc.groups_of[i]:
                cap[g] -= v
    values = values.copy()
    for i in order:
        if not alloc.on[i]:
            continue
        room = min(alloc.room(i, cap), float(hi[i]) - values[i], budget)
        add = math.floor(room / res + 1e-9) * res
        if add > 0:
            alloc.give(i, add, values, cap)
            budget -= add
    return values


def give_spare(prep: Prepared, currents: np.ndarray, res: float = RESOLUTION_A) -> np.ndarray:
    """Capacity left once every car is planned goes, in whole ``res`` steps, to cars that
    are on and planned at what they were seen to take, up to a margin above it
    (:func:`~backend.smart_charging.prepare.shown_caps`). Where that fills a car sooner, its
    later slots are lowered to what it still needs."""
    capped = [int(i) for i in np.flatnonzero(prep.spare_a > prep.max_a + TOL)]
    if not capped:
        return currents
    out = currents.copy()
    alloc = SlotAllocator(prep)
    members = [np.array(g.members) for g in prep.groups]
    remaining = prep.wanted_wh.astype(float).copy()
    for t in range(prep.n_slots):
        wh = prep.wh_per_a[:, t]
        bound = slot_bounds(prep, t, remaining, prep.spare_a)
        values = np.minimum(out[:, t], bound)
        alloc.on = values > 0
        cap = alloc.caps - np.array([values[m].sum() for m in members])
        for i in capped:
            if not alloc.on[i]:
                continue
            room = min(alloc.room(i, cap), bound[i] - values[i])
            add = math.floor(room / res + 1e-9) * res
            if add > 0:
                alloc.give(i, add, values, cap)
        out[:, t] = values
        remaining = remaining - values * wh
    return out


def laxity(prep: Prepared, t: int, remaining: np.ndarray) -> np.ndarray:
    """Each session's slack from slot ``t``: time left minus the time needed at its max."""
    rate = prep.max_a * prep.wh_per_a[:, t] / max(prep.durations[t], 1e-9)  # Wh per s at max
    with np.errstate(divide="ignore", over="ignore"):
        need_s = np.divide(remaining, rate, out=np.full_like(remaining, np.inf), where=rate > 0)
    return (prep.departure_s - prep.starts[t]) - need_s


def laxity_order(
    prep: Prepared, t: int, remaining: np.ndarray, candidates: np.ndarray
) -> list[int]:
    """Higher priority first, then least laxity: time left minus the time needed at max."""
    lax = laxity(prep, t, remaining)
    idx = [int(i) for i in np.flatnonzero(candidates)]
    idx.sort(key=lambda i: (-prep.priority[i], lax[i], i))
    return idx


def heuristic_currents(
    prep: Prepared,
    budget_s: float = 0.05,
    timer: Callable[[], float] = time.perf_counter,
) -> tuple[np.ndarray, bool]:
    """(S, T) currents and whether every slot was planned within the budget."""
    began = timer()
    alloc = SlotAllocator(prep)
    n, n_slots = len(prep.sessions), prep.n_slots
    out = np.zeros((n, n_slots))
    remaining = prep.wanted_wh.astype(float).copy()
    for t in range(n_slots):
        if t > 0 and timer() - began > budget_s:
            return out, False
        hi = slot_bounds(prep, t, remaining)
        order = laxity_order(prep, t, remaining, hi > 0)
        values, cap = alloc.start()
        alloc.switch_on(order, values, cap, prep.min_a)
        alloc.raise_to(order, values, cap, hi)
        values = top_up(alloc, order, floor_to_resolution(values, prep.min_a), hi)
        out[:, t] = values
        remaining = remaining - values * prep.wh_per_a[:, t]
    return give_spare(prep, out), True


def to_plan(
    prep: Prepared, currents: np.ndarray, method: str, elapsed: float, notes: tuple[str, ...] = ()
) -> Plan:
    problem = prep.problem
    n_slots = len(problem.horizon)
    result = {s.id: (0.0,) * n_slots for s in problem.sessions}
    for i, s in enumerate(prep.sessions):
        result[s.id] = tuple(float(v) for v in currents[i])
    return Plan(problem.horizon, result, method, elapsed, notes)


def plan_heuristic(
    problem: Problem, budget_s: float = 0.05, timer: Callable[[], float] = time.perf_counter
) -> Plan:
    """Plan with the fallback alone."""
    began = timer()
    prep = prepare(problem)
    currents, complete = heuristic_currents(prep, budget_s, timer)
    notes = () if complete else ("heuristic ran out of time: later slots planned at 0 A",)
    return to_plan(prep, currents, "heuristic", timer() - began, notes)
