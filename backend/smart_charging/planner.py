"""The planner: an LP solved by HiGHS (``highspy``), repaired into a plan where every car
gets 0 or at least its minimum, checked by :mod:`verify`; the heuristic when anything fails
or runs late.

Formulation (one run; ``x[s,t]`` = amps per phase offered to session ``s`` in slot ``t``,
only for slots before it leaves)::

    maximise  sum_s w_s sum_t e[s,t] x[s,t] (1 - a*tau_t - g*price_t)  energy, early, cheap
              + d sum_s w_s u_s sum_k b_k e[s,0] y[s,k]                 fairness in slot 0
              - b sum_p P_p                                             peak per phase
    s.t.      sum_t e[s,t] x[s,t] <= W_s                                no more than wanted
              sum_{s in G} x[s,t] <= cap_G  (root groups: <= P_p <= cap_G), for every node
                                                          and grid phase G, every slot
              0 <= x[s,t] <= max_s,  x[s,0] = sum_k y[s,k],  0 <= y[s,k] <= step

``e[s,t]`` is the energy one amp gives in the slot (V * phases * duration), ``w_s =
priority_base ** priority``, ``tau_t`` the slot start as a fraction of the horizon,
``price_t`` the price over its maximum, ``b_k`` bonuses decreasing with the amp level of
step ``k`` (a concave utility, the same for every car, so equal cars get equal current
now), ``u_s = 1 / (1 + slack_s / urgency_s)`` with ``slack_s`` the time the car could
still wait and be filled at its max before it leaves: sharing the current now matters for
cars that cannot wait, while a car with hours to spare is better served later, once the
cars leaving sooner have gone (in the bench, re-planned every 5 minutes, this halved the
gap to the offline optimum at a tight limit). The weights are small (a, g, d, b << 1) so
energy comes first; then fairness among equal cars and then cost (price is the same for
all cars in a slot, so it never breaks a tie between equals) and peak; earlier beats later
(a car served early leaves room for cars not yet arrived).

The LP leaves the "0 or at least the minimum" rule out (it would need a binary per session
and slot); the repair rounds slot by slot: cars the LP gives at least their minimum keep
their current, cars it gives a sliver get their minimum if the tree has room ("a low
current rather than a pause") and 0 otherwise, the capacity freed that way goes to cars
that are on. Re-planning every few minutes makes the rounding loss small (see the bench).

A car that has shown it takes less than its max is planned at what it takes; capacity left
over once everyone is planned gives it a small margin more (:func:`give_spare`), which is
how it can show it takes more again without holding capacity back from others.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np

from backend.smart_charging.heuristic import (
    SlotAllocator,
    floor_to_resolution,
    give_spare,
    heuristic_currents,
    laxity,
    laxity_order,
    slot_bounds,
    to_plan,
    top_up,
)
from backend.smart_charging.model import Plan, Problem
from backend.smart_charging.prepare import Prepared, prepare
from backend.smart_charging.verify import verify


@dataclass(frozen=True)
class Objective:
    """Weights of the secondary goals, relative to 1 for a Wh delivered."""

    priority_base: float = 2.0  # a session of priority p weighs priority_base ** p
    early: float = 3e-3  # a: up to this fraction less for the last slot of the horizon
    price: float = 1e-1  # g: up to this fraction less in the dearest slot
    fairness: float = 2e-2  # d: bonus for the first amps of each car in slot 0
    fairness_step_a: float = 2.0
    peak: float = 0.0  # b, in Wh per amp of peak per phase (0: off)
    # the fairness bonus of a car with this much slack (s) is halved, 2x this: a third
    urgency_s: float = 900.0


@dataclass(frozen=True)
class PlannerOptions:
    objective: Objective = Objective()
    time_budget_s: float = 0.5  # for the whole run; the heuristic gets what is left
    heuristic_budget_s: float = 0.05  # at least this much is kept for the fallback
    use_solver: bool = True


class LpModel:
    """The LP, built once, solved, then re-solved with slot 0 fixed to on/off decisions."""

    def __init__(
        self, h: highspy.Highs, cs: np.ndarray, ct: np.ndarray, n: int, n_slots: int
    ) -> None:
        self.h, self.cs, self.ct, self.n, self.n_slots = h, cs, ct, n, n_slots

    def solve(self) -> np.ndarray | None:
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        x = np.asarray(self.h.getSolution().col_value)[: len(self.cs)]
        out = np.zeros((self.n, self.n_slots))
        np.add.at(out, (self.cs, self.ct), x)
        return np.clip(out, 0.0, None)

    def fix_now(self, on: np.ndarray, lo: np.ndarray, wanted_wh: np.ndarray) -> None:
        """Slot 0: sessions ``on`` get at least ``lo``, the others 0; energy rows
        ``wanted_wh`` (raised where the minimum of the last slot rounds up)."""
        now = np.flatnonzero(self.ct == 0)
        widths = self.h.getLp().col_upper_
        lower = np.zeros(len(now))
        upper = np.array([widths[c] for c in now])
        filled: dict[int, float] = {}
        for j, c in enumerate(now):
            s = int(self.cs[c])
            if not on[s]:
                upper[j] = 0.0
                continue
            before = filled.get(s, 0.0)
            lower[j] = min(max(lo[s] - before, 0.0), upper[j])
            filled[s] = before + upper[j]
        self.h.changeColsBounds(len(now), now.astype(np.int32), lower, upper)
        idx = np.arange(self.n, dtype=np.int32)
        self.h.changeRowsBounds(  # type: ignore[attr-defined]
            self.n, idx, np.full(self.n, -highspy.kHighsInf), wanted_wh
        )


def solve_lp(
    prep: Prepared,
    objective: Objective,
    time_limit_s: float,
    first_slot: np.ndarray | None = None,
    fairness: bool = True,
) -> np.ndarray | None:
    """The relaxed LP's currents ``(S, T)``, or ``None`` if HiGHS did not solve it.
    ``first_slot`` (offline use): slot each session arrives in (default 0, all present)."""
    model = build_lp(prep, objective, time_limit_s, first_slot, fairness)
    return np.zeros((0, prep.n_slots)) if model is None else model.solve()


def build_lp(
    prep: Prepared,
    objective: Objective,
    time_limit_s: float,
    first_slot: np.ndarray | None = None,
    fairness: bool = True,
) -> LpModel | None:
    n, n_slots = len(prep.sessions), prep.n_slots
    if n == 0:
        return None
    first = np.zeros(n, dtype=int) if first_slot is None else first_slot.astype(int)
    horizon = max(float(prep.durations.sum()), 1e-9)
    tau = prep.starts / horizon
    prices = prep.problem.prices
    if prices is not None and max(prices) > 0:
        p_hat = np.clip(np.asarray(prices, dtype=float) / max(prices), 0.0, 1.0)
    else:
        p_hat = np.zeros(n_slots)
    slot_factor = 1.0 - objective.early * tau - objective.price * p_hat
    weight = objective.priority_base**prep.priority
    top = float(prep.max_a.max()) + objective.fairness_step_a
    # Each car's slack now, never below 0 (a car that cannot be filled is as urgent as any).
    slack = np.maximum(laxity(prep, 0, prep.wanted_wh.astype(float)), 0.0)

    # columns: (session, slot, upper bound, cost); slot 0 split in fairness steps
    col_s: list[np.ndarray] = []
    col_t: list[np.ndarray] = []
    col_ub: list[np.ndarray] = []
    col_cost: list[np.ndarray] = []
    for s in range(n):
        a, b = int(first[s]), int(prep.end_slot[s])
        if b <= a:
            continue
        ts = np.arange(a, b)
        value = weight[s] * prep.wh_per_a[s, a:b] * slot_factor[a:b] / 1000.0
        if fairness and a == 0 and objective.fairness > 0:
            step = objective.fairness_step_a
            k = max(1, math.ceil(prep.max_a[s] / step))
            edges = np.minimum(np.arange(k + 1) * step, prep.max_a[s])
            bonus = objective.fairness * weight[s] * prep.wh_per_a[s, 0] / 1000.0
            if objective.urgency_s > 0:  # a car with time to spare can wait its turn
                bonus /= 1.0 + slack[s] / objective.urgency_s
            bonus_k = bonus * (1.0 - edges[:-1] / top)  # by amp level, the same for all
            col_s.append(np.full(k, s))
            col_t.append(np.zeros(k, dtype=int))
            col_ub.append(np.diff(edges))
            col_cost.append(-(value[0] + bonus_k))
            ts, value = ts[1:], value[1:]
        col_s.append(np.full(len(ts), s))
        col_t.append(ts)
        col_ub.append(np.full(len(ts), prep.max_a[s]))
        col_cost.append(-value)
    cs = np.concatenate(col_s)
    ct = np.concatenate(col_t)
    ub = np.concatenate(col_ub)
    cost = np.concatenate(col_cost)
    n_x = len(cs)

    # rows: energy per session, then (group, slot) where the group can bind
    active = np.zeros((n, n_slots), dtype=bool)
    for s in range(n):
        active[s, first[s] : prep.end_slot[s]] = True
    row_ub: list[float] = list(prep.wanted_wh)
    row_lb: list[float] = [-highspy.kHighsInf] * n
    rowid = np.full((len(prep.groups), n_slots), -1, dtype=np.int64)
    peak_on = objective.peak > 0
    root = {g: p for p, g in enumerate(prep.root_groups) if g is not None} if peak_on else {}
    next_row = n
    for gi, g in enumerate(prep.groups):
        members = np.array(g.members)
        load = (active[members] * prep.max_a[members, None]).sum(axis=0)
        binds = load > g.cap + 1e-9 if gi not in root else load > 0
        ts = np.flatnonzero(binds)
        rowid[gi, ts] = np.arange(next_row, next_row + len(ts))
        next_row += len(ts)
        bound = 0.0 if gi in root else g.cap
        row_ub.extend([bound] * len(ts))
        row_lb.extend([-highspy.kHighsInf] * len(ts))

    rows = [cs]
    cols = [np.arange(n_x)]
    vals = [prep.wh_per_a[cs, ct]]
    for s in range(n):
        mine = np.flatnonzero(cs == s)
        if len(mine) == 0:
            continue
        for gi in prep.session_groups[s]:
            r = rowid[gi, ct[mine]]
            keep = r >= 0
            rows.append(r[keep])
            cols.append(mine[keep])
            vals.append(np.ones(int(keep.sum())))
    n_cols = n_x
    for gi in root:
        r = rowid[gi][rowid[gi] >= 0]
        if len(r) == 0:
            continue
        rows.append(r)
        cols.append(np.full(len(r), n_cols))
        vals.append(-np.ones(len(r)))
        ub = np.append(ub, prep.groups[gi].cap)
        peak_cost = objective.peak * prep.problem.voltage_v / 1000.0
        cost = np.append(cost, peak_cost)
        n_cols += 1
    r_all = np.concatenate(rows)
    c_all = np.concatenate(cols)
    v_all = np.concatenate(vals)
    order = np.argsort(c_all, kind="stable")
    starts = np.zeros(n_cols + 1, dtype=np.int32)
    np.cumsum(np.bincount(c_all, minlength=n_cols), out=starts[1:])

    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = next_row
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = ub
    lp.row_lower_ = np.array(row_lb)
    lp.row_upper_ = np.array(row_ub)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = starts
    lp.a_matrix_.index_ = r_all[order].astype(np.int32)
    lp.a_matrix_.value_ = v_all[order]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(time_limit_s, 1e-3))
    h.passModel(lp)
    return LpModel(h, cs, ct, n, n_slots)


def repair(prep: Prepared, lp: np.ndarray, slots: int | None = None) -> np.ndarray:
    """Round the LP's currents, slot by slot, into 0 or at least each car's minimum
    without breaking any limit, tracking the energy each car still wants."""
    alloc = SlotAllocator(prep)
    out = np.zeros_like(lp)
    remaining = prep.wanted_wh.astype(float).copy()
    for t in range(prep.n_slots if slots is None else min(slots, prep.n_slots)):
        hi = slot_bounds(prep, t, remaining)
        target = np.minimum(lp[:, t], hi)
        urgency = laxity_order(prep, t, remaining, hi > 0)
        rank = {i: r for r, i in enumerate(urgency)}
        full = [i for i in urgency if target[i] >= prep.min_a[i] - 1e-6]
        sliver = sorted(
            (i for i in urgency if 1e-3 < target[i] < prep.min_a[i] - 1e-6),
            key=lambda i: (-target[i], rank[i]),
        )
        values, cap = alloc.start()
        alloc.switch_on(full, values, cap, prep.min_a)
        alloc.raise_to(full, values, cap, target)
        alloc.switch_on(sliver, values, cap, prep.min_a)
        freed = float(sum(target[i] for i in sliver if not alloc.on[i]))
        if freed > 1e-6:  # what rounding down took away goes to cars that are on
            extra = np.minimum(hi, values + freed)
            for i in urgency:
                if freed <= 1e-6:
                    break
                before = values[i]
                alloc.raise_to([i], values, cap, np.minimum(extra, before + freed))
                freed -= values[i] - before
        floored = floor_to_resolution(values, prep.min_a)
        lost = float((values - floored).sum()) + 1e-9
        values = top_up(alloc, urgency, floored, hi, budget=lost)
        out[:, t] = values
        remaining = remaining - values * prep.wh_per_a[:, t]
    return out


def plan(
    problem: Problem,
    options: PlannerOptions | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> Plan:
    """Plan ``problem``: the LP and its repair when they succeed in time and the result
    passes :func:`verify`; otherwise the heuristic with the time left."""
    options = options or PlannerOptions()
    began = timer()
    prep = prepare(problem)
    notes: list[str] = []
    if options.use_solver:
        budget = options.time_budget_s - options.heuristic_budget_s
        lp: np.ndarray | None = None
        try:
            model = build_lp(prep, options.objective, budget)
            lp = np.zeros((0, prep.n_slots)) if model is None else model.solve()
            if model is not None and lp is not None:
                # round slot 0, then let the LP re-balance everything around that decision
                first = repair(prep, lp, slots=1)[:, 0]
                on = first > 0
                wanted = np.maximum(prep.wanted_wh, np.where(on, first * prep.wh_per_a[:, 0], 0))
                model.h.setOptionValue("time_limit", max(budget - (timer() - began), 1e-3))
                model.fix_now(on, np.minimum(first, prep.min_a), wanted)
                lp = model.solve()
        except Exception as exc:  # a solver failure must never stop charging safely
            lp = None
            notes.append(f"solver error: {exc!r}")
        if lp is None:
            notes.append("solver found no optimal solution in time")
        elif timer() - began > budget:
            notes.append("solver ran late")
        else:
            currents = give_spare(prep, repair(prep, lp))
            result = to_plan(prep, currents, "lp", 0.0)
            problems = verify(problem, result)
            if not problems:
                return Plan(result.horizon, result.currents, "lp", timer() - began)
            notes.append("LP plan failed verification: " + "; ".join(problems[:3]))
    left = max(options.heuristic_budget_s, options.time_budget_s - (timer() - began))
    currents, complete = heuristic_currents(prep, left, timer)
    if not complete:
        notes.append("heuristic ran out of time: later slots planned at 0 A")
    return to_plan(prep, currents, "heuristic", timer() - began, tuple(notes))
