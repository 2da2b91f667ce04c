"""The charging profiles smart charging sets on stations, by id, so that they can be replaced
and cleared one by one without touching profiles set by anyone else (an administrator's, a
remote start's):

- the safe TxDefaultProfile of the whole station (connector / EVSE 0), `TX_DEFAULT_PROFILE_ID`;
- each session's TxProfile, `TX_PROFILE_BASE_ID` + its connector (EVSE) number.
"""

from __future__ import annotations

from datetime import datetime

from backend.domain.charging.commands import ChargingProfile, Command, CommandKind

TX_DEFAULT_PROFILE_ID = 90_000
TX_PROFILE_BASE_ID = 90_100  # + the connector (EVSE) number


def default_profile(limit_a: float, start: datetime) -> ChargingProfile:
    """One period from ``start`` on: an absolute profile names its start (OCPP 2.0.1 stations
    may refuse one without it)."""
    return ChargingProfile(
        id=TX_DEFAULT_PROFILE_ID,
        stack_level=0,
        purpose="TxDefaultProfile",
        kind="Absolute",
        rate_unit="A",
        periods=((0, limit_a, None),),
        start_schedule=start,
    )


def clear_default() -> Command:
    return Command(
        CommandKind.CLEAR_CHARGING_PROFILE, {"id": TX_DEFAULT_PROFILE_ID, "connector": 0}
    )


def clear_tx(evse_id: int) -> Command:
    return Command(
        CommandKind.CLEAR_CHARGING_PROFILE,
        {"id": TX_PROFILE_BASE_ID + evse_id, "connector": evse_id},
    )
