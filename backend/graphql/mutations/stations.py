"""Commands to stations (any server process), and station administration.

Each command mutation answers with the station's own status (`accepted` says whether it
means yes); STATION_OFFLINE, STATION_TIMEOUT and STATION_REJECTED (a CALLERROR) are errors.
Rights are decided in `backend.domain.charging.commands`.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from backend.db import models
from backend.db.models import RegistrationStatus
from backend.domain.charging.commands import StationCommands
from backend.domain.charging.registration import Registration
from backend.graphql.context import Context
from backend.graphql.ids import parse_id, parse_optional_id
from backend.graphql.types.commands import (
    ChargingProfileInput,
    ChargingProfilePurpose,
    ChargingRateUnit,
    CommandResult,
    CompositeScheduleResult,
    ConfigurationResult,
    CreatedRegistrationToken,
    RegistrationToken,
    ResetType,
    TriggerableMessage,
)
from backend.graphql.types.sites import ChargingStation


class _Commands:
    """A short database session and the command service, for one mutation."""

    def __init__(self, info: strawberry.Info[Context]) -> None:
        self.ctx = info.context

    async def __aenter__(self) -> StationCommands:
        self._session_cm = self.ctx.session()
        session = await self._session_cm.__aenter__()
        return StationCommands(session, self.ctx.services.station_link)

    async def __aexit__(self, *exc: object) -> None:
        await self._session_cm.__aexit__(*exc)  # type: ignore[arg-type]


@strawberry.type
class StationMutations:
    # --- commands ----------------------------------------------------------------------------

    @strawberry.mutation(description="Start a charge: drivers with their own card.")
    async def remote_start(
        self,
        info: strawberry.Info[Context],
        station_id: strawberry.ID,
        connector_id: int,
        card_id: strawberry.ID | None = None,
        charging_profile: ChargingProfileInput | None = None,
    ) -> CommandResult:
        async with _Commands(info) as commands:
            answer = await commands.remote_start(
                info.context.viewer,
                parse_id(station_id, "stationId"),
                connector_id,
                parse_optional_id(card_id, "cardId"),
                charging_profile.to_domain() if charging_profile else None,
            )
        return CommandResult.of(answer)

    @strawberry.mutation(description="Stop a session: its driver, or a site administrator.")
    async def remote_stop(
        self, info: strawberry.Info[Context], session_id: strawberry.ID
    ) -> CommandResult:
        async with _Commands(info) as commands:
            answer = await commands.remote_stop(
                info.context.viewer, parse_id(session_id, "sessionId")
            )
        return CommandResult.of(answer)

    @strawberry.mutation
    async def reset_station(
        self,
        info: strawberry.Info[Context],
        station_id: strawberry.ID,
        type: ResetType = ResetType.SOFT,
    ) -> CommandResult:
        async with _Commands(info) as commands:
            answer = await commands.reset(
                info.context.viewer, parse_id(station_id, "stationId"), type is ResetType.HARD
            )
        return CommandResult.of(answer)

    @strawberry.mutation
    async def unlock_connector(
        self, info: strawberry.Info[Context], station_id: strawberry.ID, connector_id: int
    ) -> CommandResult:
        async with _Commands(info) as commands:
            answer = await commands.unlock_connector(
                info.context.viewer, parse_id(station_id, "stationId"), connector_id
            )
        return CommandResult.of(answer)

    @strawberry.mutation(description="connectorId 0: the whole station.")
    async def change_availability(
        self,
        info: strawberry.Info[Context],
        station_id: strawberry.ID,
        operative: bool,
        connector_id: int = 0,
    ) -> CommandResult:
        async with _Commands(info) as commands:
            answer = await commands.change_availability(
                info.context.viewer, parse_id(station_id, "stationId"), connector_id, operative
            )
        return CommandResult.of(answer)

    @strawberry.mutation(
        description='Configuration keys (2.0.1: "Component.Variable"); all (1.6) when omitted.'
    )
    async def get_configuration(
        self,
        info: strawberry.Info[Context],
        station_id: strawberry.ID,
        keys: list[str] | None = None,
    ) -> ConfigurationResult:
        async with _Commands(info) as commands:
            answer = await commands.get_configuration(
                info.context.viewer, parse_id(station_id, "stationId"), keys
            )
        return ConfigurationResult.of(answer)

    @strawberry.mutation
    async def change_configuration(
        self, info: strawberry.Info[Context], station_id: strawberry.ID, key: str, value: str
    ) -> CommandResult:
        async with _Commands(info) as commands:
            answer = await commands.change_configuration(
                info.context.viewer, parse_id(station_id, "stationId"), key, value
            )
        return CommandResult.of(answer)

    @strawberry.mutation
    async def trigger_message(
        self,
        info: strawberry.Info[Context],
        station_id: strawberry.ID,
        message: TriggerableMessage,
        connector_id: int | None = None,
    ) -> CommandResult:
        async with _Commands(info) as commands:
            answer = await commands.trigger_message(
                info.context.viewer, parse_id(station_id, "stationId"), message.value, connector_id
            )
        return CommandResult.of(answer)

    @strawberry.mutation
    async def clear_cache(
        self, info: strawberry.Info[Context], station_id: strawberry.ID
    ) -> CommandResult:
        async with _Commands(info) as commands:
            answer = await commands.clear_cache(
                info.context.viewer, parse_id(station_id, "stationId")
            )
        return CommandResult.of(answer)

    @strawberry.mutation
    async def update_firmware(
        self,
        info: strawberry.Info[Context],
        station_id: strawberry.ID,
        location: str,
        retrieve_at: datetime,
        retries: int | None = None,
    ) -> CommandResult:
        async with _Commands(info) as commands:
            answer = await commands.update_firmware(
                info.context.viewer,
                parse_id(station_id, "stationId"),
                location,
                retrieve_at,
                retries,
            )
        return CommandResult.of(answer)

    @strawberry.mutation
    async def set_charging_profile(
        self,
        info: strawberry.Info[Context],
        station_id: strawberry.ID,
        connector_id: int,
        profile: ChargingProfileInput,
    ) -> CommandResult:
        async with _Commands(info) as commands:
            answer = await commands.set_charging_profile(
                info.context.viewer,
                parse_id(station_id, "stationId"),
                connector_id,
                profile.to_domain(),
            )
        return CommandResult.of(answer)

    @strawberry.mutation
    async def clear_charging_profile(
        self,
        info: strawberry.Info[Context],
        station_id: strawberry.ID,
        profile_id: int | None = None,
        connector_id: int | None = None,
        purpose: ChargingProfilePurpose | None = None,
        stack_level: int | None = None,
    ) -> CommandResult:
        async with _Commands(info) as commands:
            answer = await commands.clear_charging_profile(
                info.context.viewer,
                parse_id(station_id, "stationId"),
                profile_id=profile_id,
                connector=connector_id,
                purpose=purpose.value if purpose else None,
                stack_level=stack_level,
            )
        return CommandResult.of(answer)

    @strawberry.mutation
    async def get_composite_schedule(
        self,
        info: strawberry.Info[Context],
        station_id: strawberry.ID,
        connector_id: int,
        duration_s: int,
        rate_unit: ChargingRateUnit | None = None,
    ) -> CompositeScheduleResult:
        async with _Commands(info) as commands:
            answer = await commands.get_composite_schedule(
                info.context.viewer,
                parse_id(station_id, "stationId"),
                connector_id,
                duration_s,
                rate_unit.value if rate_unit else None,
            )
        return CompositeScheduleResult.of(answer)

    # --- station administration -----------------------------------------------------------

    @strawberry.mutation(
        graphql_type=ChargingStation,
        description="Accept a pending station (administrators), optionally into a site area.",
    )
    async def accept_station(
        self,
        info: strawberry.Info[Context],
        station_id: strawberry.ID,
        site_area_id: strawberry.ID | None = None,
    ) -> models.ChargingStation:
        async with info.context.session() as session:
            return await Registration(session, info.context.services.bus).set_registration_status(
                info.context.viewer,
                parse_id(station_id, "stationId"),
                RegistrationStatus.ACCEPTED,
                parse_optional_id(site_area_id, "siteAreaId"),
            )

    @strawberry.mutation(graphql_type=ChargingStation)
    async def reject_station(
        self, info: strawberry.Info[Context], station_id: strawberry.ID
    ) -> models.ChargingStation:
        async with info.context.session() as session:
            return await Registration(session, info.context.services.bus).set_registration_status(
                info.context.viewer, parse_id(station_id, "stationId"), RegistrationStatus.REJECTED
            )

    @strawberry.mutation(
        description="A new basic-auth password for the station, returned this once."
    )
    async def set_station_password(
        self, info: strawberry.Info[Context], station_id: strawberry.ID
    ) -> str:
        async with info.context.session() as session:
            return await Registration(session, info.context.services.bus).new_password(
                info.context.viewer, parse_id(station_id, "stationId")
            )

    @strawberry.mutation
    async def create_registration_token(
        self,
        info: strawberry.Info[Context],
        site_area_id: strawberry.ID,
        description: str | None = None,
        expires_at: datetime | None = None,
    ) -> CreatedRegistrationToken:
        async with info.context.session() as session:
            token, row = await Registration(
                session, info.context.services.bus
            ).create_registration_token(
                info.context.viewer,
                parse_id(site_area_id, "siteAreaId"),
                description=description,
                expires_at=expires_at,
            )
            return CreatedRegistrationToken(
                token=token, registration_token=RegistrationToken.of(row)
            )

    @strawberry.mutation
    async def revoke_registration_token(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> bool:
        async with info.context.session() as session:
            await Registration(session, info.context.services.bus).revoke_registration_token(
                info.context.viewer, parse_id(id)
            )
        return True
