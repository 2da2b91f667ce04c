"""Smart charging: the planner against simple baselines and the offline optimum.

    .venv/bin/python -m bench.smart_charging [--seeds 7,8,9,10,11 | --seed 7] [--detail]
        [--limits 30,20] [--days 7] [--sessions-per-day 18] [--timing-runs 60]

Several seeds (default five): one line per seed and limit with each policy's energy as a share
of the same run's offline optimum, then the mean and the minimum over the seeds, and the
planner's energy over each baseline's (same run). One seed (or --detail): the full table.

A simulated workplace week (seeded, generated — no real data is used): arrivals around
8-10 h, departures 16-19 h, 5-40 kWh wanted, AC cars of 7.4 kW (one phase, 32 A), 11 kW
(three phases, 16 A) or 22 kW (three phases, 32 A); some cars draw less than they declare.
The site is three-phase, 230 V: a site limit (e.g. 30 kW = 43.5 A per phase), one site area,
30 stations of 22 kW (32 A per phase) with two connectors each, wired with rotating phases so
that one-phase cars spread over L1, L2, L3. Every 5 minutes, cars draw what they are
offered (or less), sessions arrive and leave.

Policies: the planner (LP + repair, re-planned on arrivals, departures, periodically as the
product does (SMART_CHARGING_INTERVAL_S, 5 minutes by default) and
when a car draws clearly less than offered — MPC); its heuristic alone; uncontrolled then
capped (every car offered its max, curtailed proportionally where a node is over); equal
share (round robin at the minimum when not everyone fits); earliest deadline first; least
laxity first; and the offline optimum: the whole week as one LP with perfect knowledge
(arrivals, departures, energies, true car rates), without the 0-or-≥6 A rule — a ceiling.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from backend.settings import Settings
from backend.smart_charging import (
    Horizon,
    Node,
    PlannerOptions,
    Problem,
    Session,
    phase_limits_from_power,
    plan,
    plan_heuristic,
)
from backend.smart_charging.model import grid_phases, learned_max_current
from backend.smart_charging.planner import Objective, solve_lp
from backend.smart_charging.prepare import HEADROOM_MARGIN_A, HEADROOM_TOLERANCE_A, prepare

V = 230.0
STEP_S = 300.0
#: the planner runs again this often, as the product does by default
REPLAN_S = float(Settings.model_fields["smart_charging_interval_s"].default)
STATIONS = 30
ROTATIONS = ("RST", "STR", "TRS")
CARS = [  # (kW, phases, declared max A per phase, share)
    (7.4, 1, 32.0, 0.35),
    (11.0, 3, 16.0, 0.45),
    (22.0, 3, 32.0, 0.20),
]


@dataclass
class Car:
    id: str
    arrival_s: float
    departure_s: float
    wanted_wh: float
    phases: int
    declared_a: float
    true_a: float  # what the car really draws at most (some draw less than declared)


def workplace_week(seed: int, days: int, per_day: int) -> list[Car]:
    rng = random.Random(seed)
    cars: list[Car] = []
    for day in range(days):
        weekend = day % 7 in (5, 6)
        count = max(0, round(rng.gauss(per_day * (0.15 if weekend else 1.0), 2)))
        for _ in range(count):
            arrive_h = min(11.0, max(7.0, rng.gauss(8.9, 0.6)))
            leave_h = min(19.5, max(15.5, rng.gauss(17.4, 0.8)))
            if weekend:
                arrive_h, leave_h = rng.uniform(9, 13), rng.uniform(13.5, 18)
            arrive = day * 86400 + round(arrive_h * 3600 / STEP_S) * STEP_S
            leave = day * 86400 + round(leave_h * 3600 / STEP_S) * STEP_S
            r, acc = rng.random(), 0.0
            _kw, phases, amps, _ = CARS[-1]
            for _, ph_, a_, share in CARS:
                acc += share
                if r < acc:
                    phases, amps = ph_, a_
                    break
            true_a = amps if rng.random() > 0.15 else round(amps * rng.uniform(0.55, 0.8), 1)
            stay_h = (leave - arrive) / 3600
            wanted = min(max(5.0, rng.lognormvariate(math.log(13), 0.5)), 40.0)
            wanted = min(wanted, 0.9 * true_a * phases * V / 1000 * stay_h)  # feasible alone
            cars.append(
                Car(f"d{day}-{len(cars)}", arrive, leave, wanted * 1000, phases, amps, true_a)
            )
    cars.sort(key=lambda c: c.arrival_s)
    return cars


def site(limit_kw: float) -> Node:
    stations = []
    for k in range(STATIONS):
        conns = tuple(
            Node(f"c{2 * k + j}", (32.0, 32.0, 32.0), phase_rotation=ROTATIONS[(2 * k + j) % 3])
            for j in range(2)
        )
        stations.append(Node(f"st{k}", (32.0, 32.0, 32.0), children=conns))
    area = Node("area", phase_limits_from_power(60_000), children=tuple(stations))
    return Node("site", phase_limits_from_power(limit_kw * 1000), children=(area,))


@dataclass
class Active:
    car: Car
    connector: str
    delivered_wh: float = 0.0
    offered_a: float | None = None
    measured_a: float | None = None
    learned_a: float | None = None
    last_served_s: float = -1.0

    def session(self, now: float) -> Session:
        return Session(
            id=self.car.id,
            connector_id=self.connector,
            max_current=self.car.declared_a,
            learned_current=self.learned_a,
            energy_wanted_wh=max(0.0, self.car.wanted_wh - self.delivered_wh),
            departure_s=self.car.departure_s - now,
            phases=(1, 2, 3) if self.car.phases == 3 else (1,),
            measured_current=self.measured_a,
            offered_current=self.offered_a,
        )


Policy = Callable[[Problem, dict[str, Active], float], dict[str, float]]


@dataclass
class Result:
    name: str
    limit_kw: float
    energy_pct: float = 0.0
    served_pct: float = 0.0
    peak: tuple[float, float, float] = (0.0, 0.0, 0.0)
    limit_a: float = 0.0
    violations: int = 0
    plan_ms: list[float] = field(default_factory=list)


# ---- baselines: one slot at a time, on the same tree constraints ----------------------


def _greedy(problem: Problem, order_key: Callable[[Session], float]) -> dict[str, float]:
    prep = prepare(problem)
    cap = np.array([g.cap for g in prep.groups])
    out = {s.id: 0.0 for s in problem.sessions}
    wh = prep.wh_per_a[:, 0] if prep.sessions else np.zeros(0)
    for i in sorted(range(len(prep.sessions)), key=lambda i: order_key(prep.sessions[i])):
        need = prep.wanted_wh[i] / wh[i] if wh[i] > 0 else 0.0
        hi = min(prep.max_a[i], max(prep.min_a[i], need))
        room = min((cap[g] for g in prep.session_groups[i]), default=math.inf)
        give = min(hi, room)
        if give >= prep.min_a[i]:
            out[prep.sessions[i].id] = give
            for g in prep.session_groups[i]:
                cap[g] -= give
    return out


def edf(problem: Problem, active: dict[str, Active], now: float) -> dict[str, float]:
    return _greedy(problem, lambda s: s.departure_s or math.inf)


def llf(problem: Problem, active: dict[str, Active], now: float) -> dict[str, float]:
    def laxity(s: Session) -> float:
        rate = s.max_current * s.phase_count * V  # W
        return (s.departure_s or math.inf) - s.energy_wanted_wh * 3600 / rate

    return _greedy(problem, laxity)


def uncontrolled_capped(
    problem: Problem, active: dict[str, Active], now: float
) -> dict[str, float]:
    prep = prepare(problem)
    want = prep.max_a.copy()
    factor = np.ones(len(prep.sessions))
    for g in prep.groups:
        members = list(g.members)
        load = want[members].sum()
        if load > g.cap:
            factor[members] = np.minimum(factor[members], g.cap / load)
    offer = want * factor
    offer[offer < prep.min_a] = 0.0
    return {s.id: float(offer[i]) if i < len(offer) else 0.0 for i, s in enumerate(prep.sessions)}


def equal_share(problem: Problem, active: dict[str, Active], now: float) -> dict[str, float]:
    prep = prepare(problem)
    n = len(prep.sessions)
    cap = np.array([g.cap for g in prep.groups])
    values = np.zeros(n)
    # round robin: the least recently served switch on first, at the minimum
    order = sorted(range(n), key=lambda i: active[prep.sessions[i].id].last_served_s)
    for i in order:
        gs = prep.session_groups[i]
        if min((cap[g] for g in gs), default=math.inf) >= prep.min_a[i]:
            values[i] = prep.min_a[i]
            cap[gs] -= prep.min_a[i]
    # then raise everyone on by equal steps (water filling)
    step = 0.1
    live = [i for i in range(n) if values[i] > 0]
    while live:
        nxt = []
        for i in live:
            gs = prep.session_groups[i]
            if values[i] + step <= prep.max_a[i] and all(cap[g] >= step for g in gs):
                values[i] += step
                cap[gs] -= step
                nxt.append(i)
        live = nxt
    return {s.id: float(values[i]) for i, s in enumerate(prep.sessions)}


# ---- the simulator -------------------------------------------------------------------


def simulate(
    cars: list[Car],
    limit_kw: float,
    name: str,
    policy: Policy | None,
    planner: Callable[[Problem], object] | None = None,
) -> Result:
    root = site(limit_kw)
    nodes = {n.id: (n, anc) for n, anc in root.walk()}
    connectors = [f"c{i}" for i in range(2 * STATIONS)]
    result = Result(name, limit_kw, limit_a=root.max_current[0])
    active: dict[str, Active] = {}
    done: list[Active] = []
    pending = list(cars)
    peak = [0.0, 0.0, 0.0]
    end = max(c.departure_s for c in cars) + STEP_S
    now = min(c.arrival_s for c in cars)
    schedule: dict[str, list[float]] = {}
    plan_at = -math.inf
    while now < end:
        changed = False
        for a in [a for a in active.values() if a.car.departure_s <= now]:
            done.append(active.pop(a.car.id))
            changed = True
        while pending and pending[0].arrival_s <= now:
            car = pending.pop(0)
            used = {a.connector for a in active.values()}
            free = next(c for c in connectors if c not in used)
            active[car.id] = Active(car, free)
            changed = True
        if not active:
            now += STEP_S
            continue
        sessions = tuple(a.session(now) for a in active.values())
        if planner is not None:
            drifting = any(
                a.offered_a is not None
                and a.measured_a is not None
                and a.measured_a < a.offered_a - HEADROOM_TOLERANCE_A
                # spare capacity it was given and does not take is not drift
                and (a.learned_a is None or a.offered_a > a.learned_a + HEADROOM_MARGIN_A)
                and a.delivered_wh < a.car.wanted_wh - 1
                for a in active.values()
            )
            if changed or drifting or now - plan_at >= REPLAN_S:
                latest = max(s.departure_s or 0 for s in sessions)
                horizon = Horizon.covering(min(latest, 86400), 900, 3600, STEP_S)
                problem = Problem(root, sessions, horizon)
                t0 = time.perf_counter()
                p = planner(problem)
                result.plan_ms.append((time.perf_counter() - t0) * 1000)
                schedule = dict(p.currents)  # type: ignore[attr-defined]
                plan_at = now
            k = int((now - plan_at) // STEP_S)
            offer = {
                a.car.id: (schedule.get(a.car.id) or [0.0] * (k + 1))[k]
                if k < len(schedule.get(a.car.id) or [])
                else 0.0
                for a in active.values()
            }
        else:
            assert policy is not None
            problem = Problem(root, sessions, Horizon.uniform(STEP_S, 1))
            t0 = time.perf_counter()
            offer = policy(problem, active, now)
            result.plan_ms.append((time.perf_counter() - t0) * 1000)
        # the cars draw what they are offered, or less
        load: dict[str, list[float]] = {}
        for a in active.values():
            o = offer.get(a.car.id, 0.0)
            need_a = (a.car.wanted_wh - a.delivered_wh) * 3600 / (STEP_S * V * a.car.phases)
            draw = max(0.0, min(o, a.car.true_a, need_a))
            if need_a > o:  # a car that got full tells nothing about its rate
                a.learned_a = learned_max_current(a.car.declared_a, a.learned_a, o, draw)
            a.offered_a, a.measured_a = o, draw
            if draw > 0:
                a.last_served_s = now
            a.delivered_wh += draw * V * a.car.phases * STEP_S / 3600
            conn, anc = nodes[a.connector]
            phases = grid_phases((1, 2, 3) if a.car.phases == 3 else (1,), conn.phase_rotation)
            for node in (*anc, conn):
                row = load.setdefault(node.id, [0.0, 0.0, 0.0])
                for p in phases:
                    row[p] += draw
        for node_id, row in load.items():
            node = nodes[node_id][0]
            for p in range(3):
                if row[p] > node.max_current[p] + 1e-6:
                    result.violations += 1
        site_load = load.get("site", [0.0, 0.0, 0.0])
        peak = [max(peak[p], site_load[p]) for p in range(3)]
        now += STEP_S
    done.extend(active.values())
    wanted = sum(a.car.wanted_wh for a in done)
    got = sum(min(a.delivered_wh, a.car.wanted_wh) for a in done)
    result.energy_pct = 100 * got / wanted
    result.served_pct = 100 * sum(a.delivered_wh >= a.car.wanted_wh - 1.0 for a in done) / len(done)
    result.peak = (peak[0], peak[1], peak[2])
    return result


def offline_optimum(cars: list[Car], limit_kw: float) -> Result:
    """The whole week as one LP with perfect knowledge (a ceiling: the 0-or-minimum rule is
    relaxed, and it knows every arrival in advance)."""
    root = site(limit_kw)
    t0 = min(c.arrival_s for c in cars)
    end = max(c.departure_s for c in cars)
    n_slots = math.ceil((end - t0) / STEP_S)
    connectors = [f"c{i}" for i in range(2 * STATIONS)]
    busy: dict[str, float] = {}
    sessions, first = [], []
    for c in cars:  # the same connector assignment as the simulator
        free = next(k for k in connectors if busy.get(k, -1.0) <= c.arrival_s)
        busy[free] = c.departure_s
        sessions.append(
            Session(
                c.id,
                free,
                c.true_a,
                c.wanted_wh,
                c.departure_s - t0,
                (1, 2, 3) if c.phases == 3 else (1,),
            )
        )
        first.append(round((c.arrival_s - t0) / STEP_S))
    problem = Problem(root, tuple(sessions), Horizon.uniform(STEP_S, n_slots))
    prep = prepare(problem)
    began = time.perf_counter()
    x = solve_lp(
        prep,
        Objective(early=0.0, price=0.0, fairness=0.0),
        600.0,
        first_slot=np.array(first),
        fairness=False,
    )
    elapsed = (time.perf_counter() - began) * 1000
    assert x is not None, "offline LP failed"
    delivered = (x * prep.wh_per_a).sum(axis=1)
    wanted = prep.wanted_wh
    res = Result("offline optimum (LP, week)", limit_kw, limit_a=root.max_current[0])
    res.energy_pct = 100 * float(np.minimum(delivered, wanted).sum() / wanted.sum())
    res.served_pct = 100 * float(np.mean(delivered >= wanted - 1.0))
    loads = np.zeros((3, n_slots))
    for i in range(len(prep.sessions)):
        for p in prep.phases_of[i]:
            loads[p] += x[i]
    res.peak = (float(loads[0].max()), float(loads[1].max()), float(loads[2].max()))
    res.plan_ms = [elapsed]
    return res


def timing(seed: int, runs: int, concurrent: int = 50) -> tuple[list[float], list[float]]:
    """Planning time on snapshots of ``concurrent`` sessions at mid-morning (30 kW)."""
    rng = random.Random(seed)
    root = site(30)
    lp_ms, heur_ms = [], []
    for _ in range(runs):
        sessions = []
        for i in range(concurrent):
            _kw, ph, amps, _share = rng.choice(CARS)
            sessions.append(
                Session(
                    f"s{i}",
                    f"c{i}",
                    amps,
                    rng.uniform(2_000, 40_000),
                    rng.uniform(5, 9) * 3600,
                    (1, 2, 3) if ph == 3 else (1,),
                    measured_current=rng.choice([None, amps * 0.6]),
                    offered_current=amps,
                )
            )
        problem = Problem(root, tuple(sessions), Horizon.covering(9 * 3600, 900, 3600, STEP_S))
        t0 = time.perf_counter()
        p = plan(problem)
        lp_ms.append((time.perf_counter() - t0) * 1000)
        assert p.method == "lp", p.notes
        t0 = time.perf_counter()
        plan_heuristic(problem)
        heur_ms.append((time.perf_counter() - t0) * 1000)
    return lp_ms, heur_ms


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


POLICIES: list[tuple[str, str, Policy | None, bool]] = [
    # (name, short name, one-slot policy, or the planner itself when None: its heuristic?)
    ("planner (LP + repair, MPC)", "planner", None, False),
    ("planner heuristic alone", "heuristic", None, True),
    ("uncontrolled then capped", "capped", uncontrolled_capped, False),
    ("equal share (round robin)", "equal", equal_share, False),
    ("earliest deadline first", "EDF", edf, False),
    ("least laxity first", "LLF", llf, False),
]


def run_seed(
    seed: int, limits: list[float], days: int, per_day: int
) -> tuple[list[Car], dict[float, list[Result]]]:
    """Every policy and the offline optimum on one seed's week, for each limit: the results,
    optimum last."""
    cars = workplace_week(seed, days, per_day)
    options = PlannerOptions()
    out: dict[float, list[Result]] = {}
    for limit in limits:
        rows = []
        for name, _short, policy, heuristic in POLICIES:
            planner: Callable[[Problem], object] | None = None
            if policy is None:
                planner = plan_heuristic if heuristic else (lambda p: plan(p, options))
            rows.append(simulate(cars, limit, name, policy, planner))
        out[limit] = [*rows, offline_optimum(cars, limit)]
    return cars, out


def overs(r: Result) -> int:
    return sum(p > r.limit_a + 1e-6 for p in r.peak) + r.violations


def print_detail(limit: float, results: list[Result], header: str) -> None:
    best = results[-1]
    for r in results:
        peak = "/".join(f"{p:.1f}" for p in r.peak)
        print(
            f"{limit:>4.0f}kW | {r.name:<28} | {r.energy_pct:>8.2f} | "
            f"{r.energy_pct - best.energy_pct:>5.2f} | {r.served_pct:>8.1f} | "
            f"{peak:>17} | {r.limit_a:>7.1f} | {overs(r):>4} | {pct(r.plan_ms, 0.5):>6.2f} | "
            f"{pct(r.plan_ms, 0.95):>6.2f}"
        )
    print("-" * len(header))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="7,8,9,10,11", help="comma-separated week seeds")
    ap.add_argument("--seed", type=int, help="one seed only (same as --seeds N)")
    ap.add_argument("--detail", action="store_true", help="every policy's row for every seed")
    ap.add_argument("--limits", default="30,20", help="site limits in kW")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--sessions-per-day", type=int, default=18)
    ap.add_argument("--timing-runs", type=int, default=60)
    args = ap.parse_args()
    seeds = [args.seed] if args.seed is not None else [int(x) for x in args.seeds.split(",")]
    limits = [float(x) for x in args.limits.split(",")]
    detail = args.detail or len(seeds) == 1
    header = (
        f"{'limit':>6} | {'policy':<28} | {'energy %':>8} | {'gap':>5} | {'served %':>8} | "
        f"{'peak L1/L2/L3 A':>17} | {'limit A':>7} | {'over':>4} | {'ms p50':>6} | "
        f"{'ms p95':>6}"
    )
    shorts = [short for _, short, _, _ in POLICIES]
    # Per seed and limit, each policy's energy as a share of the same run's offline optimum.
    ratios: dict[float, dict[str, list[float]]] = {lim: {s: [] for s in shorts} for lim in limits}
    # And the planner's energy over each baseline's, same run.
    versus: dict[float, dict[str, list[float]]] = {
        lim: {s: [] for s in shorts[1:]} for lim in limits
    }
    served: dict[float, dict[str, list[float]]] = {lim: {s: [] for s in shorts} for lim in limits}
    # The planner's gap to the offline optimum, in points of energy delivered.
    gaps: dict[float, list[float]] = {lim: [] for lim in limits}
    planner_ms: list[float] = []
    over_total = 0
    compact = (
        f"{'seed':>4} | {'limit':>5} | {'sessions':>8} | {'kWh':>5} | {'optimum %':>9} | "
        + " | ".join(f"{s + ' / opt':>15}" for s in shorts)
    )
    if not detail:
        print("energy delivered, each policy as a share of the same run's offline optimum")
        print(compact)
        print("-" * len(compact))
    for seed in seeds:
        cars, by_limit = run_seed(seed, limits, args.days, args.sessions_per_day)
        wanted = sum(c.wanted_wh for c in cars) / 1000
        if detail:
            print(
                f"workplace week: {len(cars)} sessions, {wanted:.0f} kWh wanted, seed {seed}; "
                f"{STATIONS * 2} connectors, 5-minute steps"
            )
            print(header)
            print("-" * len(header))
        for limit, results in by_limit.items():
            best = results[-1]
            for (_, short, _, _), r in zip(POLICIES, results, strict=False):
                ratios[limit][short].append(r.energy_pct / best.energy_pct)
                served[limit][short].append(r.served_pct)
                over_total += overs(r)
            planner = results[0]
            gaps[limit].append(best.energy_pct - planner.energy_pct)
            planner_ms += planner.plan_ms
            for (_, short, _, _), r in zip(POLICIES[1:], results[1:], strict=False):
                versus[limit][short].append(planner.energy_pct / r.energy_pct)
            if detail:
                print_detail(limit, results, header)
            else:
                cells = " | ".join(f"{ratios[limit][s][-1]:>15.4f}" for s in shorts)
                print(
                    f"{seed:>4} | {limit:>3.0f}kW | {len(cars):>8} | {wanted:>5.0f} | "
                    f"{best.energy_pct:>9.2f} | {cells}"
                )
    if not detail:
        print("-" * len(compact))
    if len(seeds) > 1:
        print(f"\nover {len(seeds)} seeds ({', '.join(map(str, seeds))}): energy / optimum")
        summary = (
            f"{'limit':>5} | {'policy':<28} | {'mean':>7} | {'min':>7} | {'served % mean':>13}"
        )
        print(summary)
        print("-" * len(summary))
        for limit in limits:
            for name, short, _, _ in POLICIES:
                values = ratios[limit][short]
                print(
                    f"{limit:>3.0f}kW | {name:<28} | {sum(values) / len(values):>7.4f} | "
                    f"{min(values):>7.4f} | {sum(served[limit][short]) / len(values):>13.1f}"
                )
            print("-" * len(summary))
        for limit in limits:
            print(
                f"{limit:>3.0f}kW: planner below the offline optimum by "
                f"{sum(gaps[limit]) / len(gaps[limit]):.2f} points of energy on average, "
                f"{max(gaps[limit]):.2f} at most ({', '.join(f'{g:.2f}' for g in gaps[limit])})"
            )
        print("planner energy / baseline energy, same run")
        head = f"{'limit':>5} | " + " | ".join(f"{s:>15}" for s in shorts[1:])
        print(head)
        print("-" * len(head))
        for limit in limits:
            mean = " | ".join(
                f"{'mean ' + format(sum(v) / len(v), '.4f'):>15}" for v in versus[limit].values()
            )
            low = " | ".join(
                f"{'min ' + format(min(v), '.4f'):>15}" for v in versus[limit].values()
            )
            print(f"{limit:>3.0f}kW | {mean}")
            print(f"{'':>5} | {low}")
        print("-" * len(head))
        print(
            f"over the limit, all seeds, policies and limits: {over_total} "
            f"(node-slots above a limit + peaks above the site limit); planner run "
            f"p50 {pct(planner_ms, 0.5):.2f} ms, p95 {pct(planner_ms, 0.95):.2f} ms"
        )
    if args.timing_runs > 0:
        lp_ms, heur_ms = timing(seeds[0], args.timing_runs)
        print(
            f"planning time, 50 concurrent sessions, 9 h horizon (12 × 5 min + 32 × 15 min), "
            f"{args.timing_runs} runs: LP + repair + verify p50 {pct(lp_ms, 0.5):.1f} ms, "
            f"p95 {pct(lp_ms, 0.95):.1f} ms; heuristic p50 {pct(heur_ms, 0.5):.1f} ms, "
            f"p95 {pct(heur_ms, 0.95):.1f} ms"
        )


if __name__ == "__main__":
    main()
