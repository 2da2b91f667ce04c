"""Charging sessions and their curves; the `session` and `sessions` root queries.

Who sees what (rules in `backend.domain.access`, table in `backend.graphql.policy`):
- a session: its driver, the managers of its station's site, admins, demo users;
- who charged (`user`, `idTag`): the driver and admins; demo users see the person with every
  personal field anonymized and a pseudonymous badge; site managers see neither.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from backend.db import models
from backend.db.base import utcnow
from backend.db.models import BillingState, SessionStatus
from backend.domain import access
from backend.domain.billing import costs
from backend.domain.charging import history
from backend.domain.errors import InvalidInput
from backend.domain.load_management import goals
from backend.graphql import loaders
from backend.graphql.context import Context
from backend.graphql.ids import parse_id, parse_optional_id
from backend.graphql.pagination import MAX_PAGE, Connection, Edge, PageInfo
from backend.graphql.types import billing as billing_types
from backend.graphql.types.billing import Invoice, Refund
from backend.graphql.types.common import OrderDirection
from backend.graphql.types.tariffs import (
    CostPointType,
    PriceLineType,
    PriceType,
    Tariff,
    frozen_tariff_row,
)
from backend.graphql.types.users import User

if TYPE_CHECKING:
    from backend.graphql.types.sites import ChargingStation, Connector

StationType = Annotated["ChargingStation", strawberry.lazy("backend.graphql.types.sites")]
ConnectorType = Annotated["Connector", strawberry.lazy("backend.graphql.types.sites")]

strawberry.enum(SessionStatus)


@strawberry.type(name="CurvePoint")
class CurvePoint:
    """One instant of a charging curve (or the merge of several, see `ChargingSession.curve`)."""

    at: datetime
    power_w: int | None
    energy_wh: int | None = strawberry.field(description="The session's energy at that instant.")
    current_l1: float | None
    current_l2: float | None
    current_l3: float | None
    voltage_l1: float | None
    voltage_l2: float | None
    voltage_l3: float | None
    soc: int | None = strawberry.field(description="The car's state of charge, in percent.")

    @classmethod
    def of(cls, p: history.Point) -> CurvePoint:
        return cls(
            at=p.at,
            power_w=p.power_w,
            energy_wh=p.energy_wh,
            current_l1=p.current_a[0],
            current_l2=p.current_a[1],
            current_l3=p.current_a[2],
            voltage_l1=p.voltage_v[0],
            voltage_l2=p.voltage_v[1],
            voltage_l3=p.voltage_v[2],
            soc=p.soc_percent,
        )


@strawberry.type(name="PlannedPeriod")
class PlannedPeriod:
    """From `at` on (until the next period), the current the plan offers, in amps per phase."""

    at: datetime
    current_a: float


def planned_schedules(ctx: Context) -> DataLoader[uuid.UUID, list[goals.PlannedPeriod]]:
    async def load(keys: Sequence[uuid.UUID]) -> list[list[goals.PlannedPeriod]]:
        async with ctx.session() as session:
            found = await goals.planned_schedules(session, list(keys))
        return [found.get(key, []) for key in keys]

    return ctx.loader("planned_schedules", lambda: DataLoader(load_fn=load))


def _station_visible(viewer: access.Viewer, station: models.ChargingStation) -> bool:
    return access.site_read(viewer, station) is access.ALLOW


@strawberry.type(name="ChargingSession")
class ChargingSession:
    id: strawberry.ID
    status: SessionStatus
    started_at: datetime
    stopped_at: datetime | None
    energy_wh: int
    instant_power_w: int
    inactivity_s: int
    stop_reason: str | None

    @strawberry.field
    def transaction_id(self, root: strawberry.Parent[models.ChargingSession]) -> str:
        return root.ocpp_transaction_id

    @strawberry.field
    def id_tag(self, root: strawberry.Parent[models.ChargingSession]) -> str | None:
        return root.id_tag

    @strawberry.field(description="Seconds from start to stop (to now while active).")
    def duration_s(self, root: strawberry.Parent[models.ChargingSession]) -> int:
        end = root.stopped_at or utcnow()
        return max(0, int((end - root.started_at).total_seconds()))

    @strawberry.field(
        graphql_type=StationType | None,
        description="Null when you may no longer see the station (e.g. you left its site).",
    )
    async def station(
        self, root: strawberry.Parent[models.ChargingSession], info: strawberry.Info[Context]
    ) -> models.ChargingStation | None:
        station = await loaders.by_id(info.context, models.ChargingStation).load(root.station_id)
        if station is None or not _station_visible(info.context.viewer, station):
            return None
        return station

    @strawberry.field(graphql_type=ConnectorType | None)
    async def connector(
        self, root: strawberry.Parent[models.ChargingSession], info: strawberry.Info[Context]
    ) -> models.Connector | None:
        if root.connector_id is None:
            return None
        return await loaders.by_id(info.context, models.Connector).load(root.connector_id)

    @strawberry.field(
        description="The connector's number on the station: the OCPP 1.6 connectorId, which is "
        "the OCPP 2.0.1 EVSE id."
    )
    async def connector_id(
        self, root: strawberry.Parent[models.ChargingSession], info: strawberry.Info[Context]
    ) -> int | None:
        if root.connector_id is None:
            return None
        connector = await loaders.by_id(info.context, models.Connector).load(root.connector_id)
        return None if connector is None else connector.evse_id

    @strawberry.field(graphql_type=User | None)
    async def user(
        self, root: strawberry.Parent[models.ChargingSession], info: strawberry.Info[Context]
    ) -> models.User | None:
        if root.user_id is None:
            return None
        return await loaders.by_id(info.context, models.User).load(root.user_id)

    @strawberry.field(
        description="The charging curve, oldest first. Longer than maxPoints (default "
        f"{history.DEFAULT_CURVE_POINTS}, at most {history.MAX_CURVE_POINTS}), it is downsampled: "
        "consecutive points are merged (mean power, current and voltage; last energy and SoC)."
    )
    async def curve(
        self,
        root: strawberry.Parent[models.ChargingSession],
        info: strawberry.Info[Context],
        max_points: int | None = None,
    ) -> list[CurvePoint]:
        limit = history.DEFAULT_CURVE_POINTS if max_points is None else max_points
        if not 2 <= limit <= history.MAX_CURVE_POINTS:
            raise InvalidInput(
                f"Ask for between 2 and {history.MAX_CURVE_POINTS} points.", field="maxPoints"
            )
        async with info.context.session() as session:
            rows = (await session.execute(history.curve_select(root.id))).all()
        points = history.downsample([history.point(r) for r in rows], limit)
        return [CurvePoint.of(p) for p in points]

    @strawberry.field(
        description="When the driver leaves, as they said (`updateSessionGoal`); null: not said "
        "(smart charging assumes 8 hours after the start)."
    )
    def departure_at(self, root: strawberry.Parent[models.ChargingSession]) -> datetime | None:
        return root.departure_at

    @strawberry.field(
        description="The energy the driver wants, as they said (`updateSessionGoal`); null: not "
        "said (smart charging assumes the default vehicle's battery, or 30 kWh)."
    )
    def energy_wanted_wh(self, root: strawberry.Parent[models.ChargingSession]) -> int | None:
        return root.energy_wanted_wh

    @strawberry.field(
        description="The smart charging plan as last computed, oldest first: the current offered "
        "from each instant on. Empty when the session was never planned."
    )
    async def planned_schedule(
        self, root: strawberry.Parent[models.ChargingSession], info: strawberry.Info[Context]
    ) -> list[PlannedPeriod]:
        periods = await planned_schedules(info.context).load(root.id)
        return [PlannedPeriod(at=p.at, current_a=p.current_a) for p in periods]

    @strawberry.field(
        graphql_type=Tariff | None,
        description="The tariff frozen when the session started (later edits do not apply).",
    )
    def tariff(self, root: strawberry.Parent[models.ChargingSession]) -> models.Tariff | None:
        if root.tariff_snapshot is None:
            return None
        return frozen_tariff_row(root.tariff_snapshot, root.tariff_id)

    @strawberry.field(
        description="The cost so far, one line per priced component; null without a tariff."
    )
    def cost(self, root: strawberry.Parent[models.ChargingSession]) -> PriceType | None:
        currency = root.cost_currency
        if (
            currency is None
            or root.cost_excl_vat_minor is None
            or root.cost_vat_minor is None
            or root.cost_incl_vat_minor is None
        ):
            return None
        final = root.status is SessionStatus.COMPLETED and root.available_at is not None
        return PriceType(
            currency=currency,
            total_excl_vat=str(costs.from_minor(root.cost_excl_vat_minor, currency)),
            total_vat=str(costs.from_minor(root.cost_vat_minor, currency)),
            total_incl_vat=str(costs.from_minor(root.cost_incl_vat_minor, currency)),
            lines=[PriceLineType.of_json(line) for line in root.cost_lines or []],
            priced_until=root.available_at or root.stopped_at or root.last_sample_at,
            final=final,
        )

    @strawberry.field(
        description="The cumulated cost, oldest first, one point per meter sample (downsampled "
        f"to maxPoints, default {history.DEFAULT_CURVE_POINTS}), ending with the session's cost."
    )
    async def cost_curve(
        self,
        root: strawberry.Parent[models.ChargingSession],
        info: strawberry.Info[Context],
        max_points: int | None = None,
    ) -> list[CostPointType]:
        limit = history.DEFAULT_CURVE_POINTS if max_points is None else max_points
        if not 2 <= limit <= history.MAX_CURVE_POINTS:
            raise InvalidInput(
                f"Ask for between 2 and {history.MAX_CURVE_POINTS} points.", field="maxPoints"
            )
        currency = root.cost_currency
        if currency is None:
            return []
        MS = models.MeterSample
        async with info.context.session() as session:
            rows = (
                await session.execute(
                    select(MS.sampled_at, MS.cost_excl_vat_minor, MS.cost_incl_vat_minor)
                    .where(MS.session_id == root.id)
                    .order_by(MS.sampled_at)
                )
            ).all()
        points = costs.cost_curve([tuple(r) for r in rows], root, limit)  # type: ignore[misc]
        return [
            CostPointType(
                at=at,
                total_excl_vat=str(costs.from_minor(excl, currency)),
                total_incl_vat=str(costs.from_minor(incl, currency)),
            )
            for at, excl, incl in points
        ]

    # --- billing ---

    @strawberry.field(
        description="UNBILLED while its cost is not final; then NOT_BILLABLE (billingNote says "
        "why), PENDING (its invoice is coming) or INVOICED."
    )
    def billing_state(self, root: strawberry.Parent[models.ChargingSession]) -> BillingState:
        return root.billing_state or BillingState.UNBILLED

    @strawberry.field(
        description="Why it is not billed: no_tariff, below_minimum, zero_cost, no_user or "
        "before_billing."
    )
    def billing_note(self, root: strawberry.Parent[models.ChargingSession]) -> str | None:
        return root.billing_note

    @strawberry.field(graphql_type=Invoice | None, description="Null until invoiced.")
    async def invoice(
        self, root: strawberry.Parent[models.ChargingSession], info: strawberry.Info[Context]
    ) -> models.Invoice | None:
        if root.invoice_id is None:
            return None
        return await billing_types.visible_invoices(info.context).load(root.invoice_id)

    @strawberry.field(
        description="Refunded on this session (pending or done), minor units incl. VAT."
    )
    async def refunded_minor(
        self, root: strawberry.Parent[models.ChargingSession], info: strawberry.Info[Context]
    ) -> int:
        return await billing_types.session_refunded(info.context).load(root.id)

    @strawberry.field(graphql_type=list[Refund], description="Oldest first; failed ones too.")
    async def refunds(
        self, root: strawberry.Parent[models.ChargingSession], info: strawberry.Info[Context]
    ) -> list[models.Refund]:
        return await billing_types.session_refunds(info.context).load(root.id)


# --- loaders -------------------------------------------------------------------------------------


def current_sessions(ctx: Context) -> DataLoader[uuid.UUID, models.ChargingSession | None]:
    """The open session on each connector, if the viewer may see it."""
    viewer = ctx.viewer

    async def load(keys: Sequence[uuid.UUID]) -> list[models.ChargingSession | None]:
        if not viewer.authenticated:
            return [None for _ in keys]
        stmt = (
            history.session_select()
            .where(
                models.ChargingSession.connector_id.in_(keys),
                models.ChargingSession.status == SessionStatus.ACTIVE,
                access.visible_sessions(viewer),
            )
            .order_by(models.ChargingSession.started_at)
        )
        found: dict[uuid.UUID, models.ChargingSession] = {}
        async with ctx.session() as session:
            for row in await session.scalars(stmt):
                assert row.connector_id is not None
                found[row.connector_id] = row  # the latest start wins
        return [found.get(key) for key in keys]

    return ctx.loader("current_sessions", lambda: DataLoader(load_fn=load))


# --- root queries --------------------------------------------------------------------------------


@strawberry.input
class SessionFilter:
    active: bool | None = None
    site_id: strawberry.ID | None = None
    station_id: strawberry.ID | None = None
    user_id: strawberry.ID | None = None
    from_: datetime | None = strawberry.field(
        name="from", default=None, description="Sessions started at or after this time."
    )
    to: datetime | None = strawberry.field(
        default=None, description="Sessions started before this time."
    )
    search: str | None = None

    def domain(self) -> history.SessionFilter:
        return history.SessionFilter(
            active=self.active,
            site_id=parse_optional_id(self.site_id, "siteId"),
            station_id=parse_optional_id(self.station_id, "stationId"),
            user_id=parse_optional_id(self.user_id, "userId"),
            started_from=self.from_,
            started_to=self.to,
            search=self.search,
        )


@strawberry.enum
class SessionOrderField(enum.Enum):
    STARTED_AT = "started_at"
    ENERGY_WH = "energy_wh"


@strawberry.input
class SessionOrder:
    field: SessionOrderField = SessionOrderField.STARTED_AT
    direction: OrderDirection = OrderDirection.DESC

    def domain(self) -> history.SessionOrder:
        return history.SessionOrder(
            field=history.SessionOrderField(self.field.value),
            descending=self.direction is OrderDirection.DESC,
        )


async def resolve_session(
    info: strawberry.Info[Context], id: strawberry.ID
) -> models.ChargingSession | None:
    stmt = history.scoped(info.context.viewer).where(models.ChargingSession.id == parse_id(id))
    async with info.context.session() as session:
        return await session.scalar(stmt)


async def resolve_sessions(
    info: strawberry.Info[Context],
    first: int | None,
    after: str | None,
    filter: SessionFilter | None,
    order_by: SessionOrder | None,
) -> Connection[models.ChargingSession]:
    size = 20 if first is None else first
    if not 0 <= size <= MAX_PAGE:
        raise InvalidInput(f"Ask for between 0 and {MAX_PAGE} items.", field="first")
    order = (order_by or SessionOrder()).domain()
    base = history.scoped(info.context.viewer, filter.domain() if filter else None)
    stmt = history.ordered(base, order, after).limit(size + 1)
    async with info.context.session() as session:
        rows = list((await session.scalars(stmt)).all())
    has_next = len(rows) > size
    rows = rows[:size]
    edges = [Edge(cursor=history.encode_cursor(r, order), node=r) for r in rows]

    async def count() -> int:
        async with info.context.session() as session:
            total = await session.scalar(
                select(func.count()).select_from(base.order_by(None).subquery())
            )
        return int(total or 0)

    return Connection(
        edges=edges,  # type: ignore[arg-type]
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        _count=count,
    )
