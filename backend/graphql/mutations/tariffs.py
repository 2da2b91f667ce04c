"""Tariffs: create, edit (scheduling is validity), retire, and preview a price."""

from __future__ import annotations

from datetime import datetime

import strawberry

from backend.db import models
from backend.domain.billing.tariffs import PreviewProfile, Tariffs, preview
from backend.graphql.context import Context
from backend.graphql.ids import parse_id, parse_optional_id
from backend.graphql.types.tariffs import PriceType, SessionProfileInput, Tariff, TariffInput


@strawberry.type
class TariffMutations:
    @strawberry.mutation(graphql_type=Tariff)
    async def create_tariff(
        self, info: strawberry.Info[Context], input: TariffInput
    ) -> models.Tariff:
        async with info.context.session() as session:
            return await Tariffs(session).create(info.context.viewer, input.to_data())

    @strawberry.mutation(
        graphql_type=Tariff,
        description="Sessions already started keep the tariff they froze at their start.",
    )
    async def update_tariff(
        self, info: strawberry.Info[Context], id: strawberry.ID, input: TariffInput
    ) -> models.Tariff:
        async with info.context.session() as session:
            return await Tariffs(session).update(info.context.viewer, parse_id(id), input.to_data())

    @strawberry.mutation(
        graphql_type=Tariff,
        description="Ends the tariff's validity at `at` (default: now) for new sessions.",
    )
    async def retire_tariff(
        self, info: strawberry.Info[Context], id: strawberry.ID, at: datetime | None = None
    ) -> models.Tariff:
        async with info.context.session() as session:
            return await Tariffs(session).retire(info.context.viewer, parse_id(id), at)

    @strawberry.mutation(
        description="What this session profile would cost under a stored tariff (tariffId) or "
        "a draft (tariff). Changes nothing."
    )
    async def preview_tariff(
        self,
        info: strawberry.Info[Context],
        profile: SessionProfileInput,
        tariff_id: strawberry.ID | None = None,
        tariff: TariffInput | None = None,
    ) -> PriceType:
        async with info.context.session() as session:
            price = await preview(
                session,
                info.context.viewer,
                PreviewProfile(
                    started_at=profile.started_at,
                    duration_minutes=profile.duration_minutes,
                    energy_wh=profile.energy_wh,
                    idle_minutes_after=profile.idle_minutes_after,
                    time_zone=profile.site_time_zone,
                ),
                tariff_id=parse_optional_id(tariff_id, "tariffId"),
                data=tariff.to_data() if tariff is not None else None,
            )
        return PriceType.of_price(price)
