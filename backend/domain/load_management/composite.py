"""Whether a station does what its profiles say: after a TxProfile is accepted, the station is
asked for its composite schedule (OCPP GetCompositeSchedule, 1.6 and 2.0.1), the limit it will
really apply once every profile it holds and its own maximum are combined. A composite above
what we sent for the current period means the station ignored our profile or clipped it
wrongly: the runner then treats the station as refusing (left out, full power reserved, admins
told).

A station that cannot answer (Rejected, a CALLERROR, offline, silent) is given the benefit of
the doubt: its Accepted stands. Only an answer that shows a higher limit, or no limit at all,
counts against it.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from backend.domain.charging.commands import ChargingProfile, Command, CommandAnswer, CommandKind
from backend.smart_charging.model import NOMINAL_VOLTAGE_V

# How far ahead the station is asked: the current period is all we compare.
DURATION_S = 300
# Rounding: limits travel with one decimal; a composite in W is converted back to amps at the
# nominal voltage while the station may use its own (240 V is 4.3 % above 230 V).
TOLERANCE_A = 0.1
TOLERANCE_W_SHARE = 0.05


def request(evse_id: int) -> Command:
    return Command(
        CommandKind.GET_COMPOSITE_SCHEDULE,
        {"connector": evse_id, "duration_s": DURATION_S, "rate_unit": "A"},
    )


def sent_limit_a(profile: ChargingProfile, at: datetime) -> float:
    """Our profile's limit (A per phase) in force at `at`."""
    start = profile.start_schedule or at
    offset = (at - start).total_seconds()
    limit = profile.periods[0][1]
    for begin, value, _ in profile.periods:
        if begin <= offset:
            limit = value
    return float(limit)


def _number(value: Any) -> float | None:
    with contextlib.suppress(TypeError, ValueError):
        return float(value)
    return None


def _start(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def composite_limit(data: dict[str, Any], at: datetime) -> tuple[float, str] | None:
    """The limit of the composite schedule's period in force at `at`, with its unit ("A" per
    phase, or "W" converted to A per phase), from a GetCompositeSchedule answer's data (the
    station's payload as `ocpp_server.commands` passes it on, camelCase). None: the answer
    holds no period, i.e. no limit."""
    payload = data.get("schedule") or {}
    # 1.6: {connectorId, scheduleStart, chargingSchedule: {...}}; 2.0.1: {schedule: {...}}.
    schedule = payload.get("chargingSchedule") or payload.get("schedule") or {}
    periods = schedule.get("chargingSchedulePeriod") or []
    begins = _start(payload.get("scheduleStart") or schedule.get("scheduleStart"))
    begins = begins or _start(schedule.get("startSchedule")) or at
    offset = (at - begins).total_seconds()
    found: dict[str, Any] | None = None
    for period in sorted(periods, key=lambda p: _number(p.get("startPeriod")) or 0.0):
        start = _number(period.get("startPeriod")) or 0.0
        if found is None or start <= offset:
            found = period
    if found is None:
        return None
    limit = _number(found.get("limit"))
    if limit is None:
        return None
    if str(schedule.get("chargingRateUnit", "A")).upper() == "W":
        phases = int(_number(found.get("numberPhases")) or 3)
        return limit / (NOMINAL_VOLTAGE_V * max(1, min(3, phases))), "W"
    return limit, "A"


def exceeded(answer: Any, sent_a: float, at: datetime) -> str | None:
    """Why the station's composite schedule shows it does not keep to `sent_a` now (a
    refusal reason, short), or None when it does or cannot say."""
    if not isinstance(answer, CommandAnswer) or not answer.accepted:
        return None
    found = composite_limit(answer.data, at)
    if found is None:
        return f"accepted a {sent_a:g} A profile but its composite schedule has no limit"
    limit_a, unit = found
    tolerance = TOLERANCE_A + (TOLERANCE_W_SHARE * sent_a if unit == "W" else 0.0)
    if limit_a > sent_a + tolerance:
        return f"accepted a {sent_a:g} A profile but its composite schedule allows {limit_a:.1f} A"
    return None
