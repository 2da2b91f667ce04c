"""Commands to stations and station administration: inputs, enums and answers."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from backend.db import models
from backend.domain.charging.commands import ChargingProfile, CommandAnswer
from backend.graphql import loaders
from backend.graphql.context import Context
from backend.graphql.types.sites import ChargingStation


@strawberry.enum
class ResetType(enum.Enum):
    HARD = "Hard"  # 2.0.1: Immediate
    SOFT = "Soft"  # 2.0.1: OnIdle


@strawberry.enum
class TriggerableMessage(enum.Enum):
    BOOT_NOTIFICATION = "BootNotification"
    HEARTBEAT = "Heartbeat"
    METER_VALUES = "MeterValues"
    STATUS_NOTIFICATION = "StatusNotification"
    FIRMWARE_STATUS_NOTIFICATION = "FirmwareStatusNotification"
    DIAGNOSTICS_STATUS_NOTIFICATION = "DiagnosticsStatusNotification"  # 2.0.1: LogStatus…


@strawberry.enum
class ChargingProfilePurpose(enum.Enum):
    CHARGE_POINT_MAX_PROFILE = "ChargePointMaxProfile"  # 2.0.1: ChargingStationMaxProfile
    TX_DEFAULT_PROFILE = "TxDefaultProfile"
    TX_PROFILE = "TxProfile"


@strawberry.enum
class ChargingProfileKind(enum.Enum):
    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"


@strawberry.enum
class ChargingRateUnit(enum.Enum):
    W = "W"
    A = "A"


@strawberry.enum
class RecurrencyKind(enum.Enum):
    DAILY = "Daily"
    WEEKLY = "Weekly"


@strawberry.input
class ChargingSchedulePeriodInput:
    start_period_s: int
    limit: float
    number_phases: int | None = None


@strawberry.input(description="A charging profile; limits in W or A per the rate unit.")
class ChargingProfileInput:
    id: int
    purpose: ChargingProfilePurpose
    rate_unit: ChargingRateUnit
    periods: list[ChargingSchedulePeriodInput]
    stack_level: int = 0
    kind: ChargingProfileKind = ChargingProfileKind.ABSOLUTE
    recurrency: RecurrencyKind | None = None
    duration_s: int | None = None
    start_schedule: datetime | None = None
    min_charging_rate: float | None = None
    transaction_id: str | None = None

    def to_domain(self) -> ChargingProfile:
        return ChargingProfile(
            id=self.id,
            stack_level=self.stack_level,
            purpose=self.purpose.value,
            kind=self.kind.value,
            rate_unit=self.rate_unit.value,
            periods=tuple((p.start_period_s, p.limit, p.number_phases) for p in self.periods),
            duration_s=self.duration_s,
            start_schedule=self.start_schedule,
            recurrency=self.recurrency.value if self.recurrency else None,
            min_charging_rate=self.min_charging_rate,
            transaction_id=self.transaction_id,
        )


@strawberry.type(description="The station's answer to a command, in its own words.")
class CommandResult:
    status: str = strawberry.field(
        description="Accepted, Rejected, Scheduled, Unlocked, UnlockFailed, NotSupported, …"
    )
    accepted: bool

    @classmethod
    def of(cls, answer: CommandAnswer) -> CommandResult:
        return cls(status=answer.status, accepted=answer.accepted)


@strawberry.type
class ConfigurationKey:
    key: str
    value: str | None
    readonly: bool


@strawberry.type
class ConfigurationResult:
    status: str
    accepted: bool
    keys: list[ConfigurationKey]
    unknown_keys: list[str]

    @classmethod
    def of(cls, answer: CommandAnswer) -> ConfigurationResult:
        return cls(
            status=answer.status,
            accepted=answer.accepted,
            keys=[
                ConfigurationKey(
                    key=str(k.get("key")), value=k.get("value"), readonly=bool(k.get("readonly"))
                )
                for k in answer.data.get("keys", [])
            ],
            unknown_keys=[str(k) for k in answer.data.get("unknown_keys", [])],
        )


@strawberry.type
class CompositeScheduleResult:
    status: str
    accepted: bool
    schedule: JSON | None = strawberry.field(
        description="The station's answer as it sent it (OCPP camelCase)."
    )

    @classmethod
    def of(cls, answer: CommandAnswer) -> CompositeScheduleResult:
        return cls(
            status=answer.status,
            accepted=answer.accepted,
            schedule=answer.data.get("schedule"),
        )


@strawberry.type
class RegistrationToken:
    id: strawberry.ID
    site_area_id: strawberry.ID
    description: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: models.SiteAreaRegistrationToken) -> RegistrationToken:
        return cls(
            id=strawberry.ID(str(row.id)),
            site_area_id=strawberry.ID(str(row.site_area_id)),
            description=row.description,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
        )


@strawberry.type(description="A new registration token: `token` is shown this once.")
class CreatedRegistrationToken:
    token: str
    registration_token: RegistrationToken


@strawberry.type(description="A badge nobody owns, presented at a station.")
class UnknownBadge:
    id: strawberry.ID
    uid: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    count: int

    @strawberry.field(graphql_type=ChargingStation | None)
    async def station(
        self, root: strawberry.Parent[models.UnknownBadge], info: strawberry.Info[Context]
    ) -> Any:
        return await loaders.by_id(info.context, models.ChargingStation).load(root.station_id)
