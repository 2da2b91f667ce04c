"""Tariffs (OCPI 2.2.1 shape), prices with their lines, and cost curves.

Who sees what (rules in `backend.domain.access`, table in `backend.graphql.policy`):
- a tariff: every signed-in user of the site it applies to (the organization's: everyone signed
  in); prices are public information for drivers. Admins and demo users see all;
- a tariff frozen into a session (`ChargingSession.tariff`): whoever sees the session;
- writing: admins anywhere, site administrators for their sites, areas and stations.

Money, rates and limits are decimal strings ("0.25"), never floats.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry

from backend.db import models
from backend.domain.billing.tariffs import TariffData
from backend.graphql.ids import parse_optional_id
from backend.pricing import DayOfWeek, Price, PriceLine, TariffDimension

strawberry.enum(models.TariffScope)
strawberry.enum(TariffDimension)
strawberry.enum(DayOfWeek)


@strawberry.type(name="TariffRestrictions")
class TariffRestrictionsType:
    """When an element applies (all given restrictions hold). Times and dates are the site's
    local time; an end time before the start time wraps midnight (22:00-06:00)."""

    start_time: str | None
    end_time: str | None
    start_date: str | None
    end_date: str | None
    min_kwh: str | None
    max_kwh: str | None
    min_current: str | None = strawberry.field(description="A, summed over phases.")
    max_current: str | None
    min_power: str | None = strawberry.field(description="kW.")
    max_power: str | None
    min_duration: int | None = strawberry.field(description="Seconds since the start.")
    max_duration: int | None
    day_of_week: list[DayOfWeek]

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> TariffRestrictionsType | None:
        if not data:
            return None
        return cls(
            start_time=data.get("start_time"),
            end_time=data.get("end_time"),
            start_date=data.get("start_date"),
            end_date=data.get("end_date"),
            min_kwh=data.get("min_kwh"),
            max_kwh=data.get("max_kwh"),
            min_current=data.get("min_current"),
            max_current=data.get("max_current"),
            min_power=data.get("min_power"),
            max_power=data.get("max_power"),
            min_duration=data.get("min_duration"),
            max_duration=data.get("max_duration"),
            day_of_week=[DayOfWeek(d) for d in data.get("day_of_week", [])],
        )


@strawberry.type(name="TariffPriceComponent")
class TariffPriceComponentType:
    type: TariffDimension
    price: str = strawberry.field(
        description="Excluding VAT, per session (FLAT), kWh (ENERGY) or hour (TIME, PARKING_TIME)."
    )
    step_size: int = strawberry.field(description="Wh for ENERGY, seconds for times.")
    vat_percent: str | None = strawberry.field(description="Overrides the tariff's VAT rate.")


@strawberry.type(name="TariffElement")
class TariffElementType:
    price_components: list[TariffPriceComponentType]
    restrictions: TariffRestrictionsType | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> TariffElementType:
        return cls(
            price_components=[
                TariffPriceComponentType(
                    type=TariffDimension(c["type"]),
                    price=c["price"],
                    step_size=c.get("step_size", 1),
                    vat_percent=c.get("vat"),
                )
                for c in data["price_components"]
            ],
            restrictions=TariffRestrictionsType.of(data.get("restrictions")),
        )


@strawberry.type(name="Tariff")
class Tariff:
    id: strawberry.ID
    name: str
    currency: str
    scope: models.TariffScope
    valid_from: datetime | None = strawberry.field(description="Inclusive; null: since always.")
    valid_until: datetime | None = strawberry.field(
        description="Exclusive; null: until further notice."
    )
    retired_at: datetime | None
    created_at: datetime

    @strawberry.field(description='Percent, e.g. "20".')
    def vat_percent(self, root: strawberry.Parent[models.Tariff]) -> str:
        return root.vat_percent

    @strawberry.field(description="The site, site area or station; null for the organization.")
    def target_id(self, root: strawberry.Parent[models.Tariff]) -> strawberry.ID | None:
        return None if root.target_id is None else strawberry.ID(str(root.target_id))

    @strawberry.field(description="The site the tariff applies at; null for the organization.")
    def site_id(self, root: strawberry.Parent[models.Tariff]) -> strawberry.ID | None:
        return None if root.site_id is None else strawberry.ID(str(root.site_id))

    @strawberry.field(description="In order: for each dimension, the first that applies wins.")
    def elements(self, root: strawberry.Parent[models.Tariff]) -> list[TariffElementType]:
        return [TariffElementType.of(e) for e in root.elements]


def frozen_tariff_row(snapshot: dict[str, Any], tariff_id: uuid.UUID | None) -> models.Tariff:
    """A session's frozen tariff as a (transient, never saved) row for the `Tariff` type."""

    def when(key: str) -> datetime | None:
        value = snapshot.get(key)
        return None if value is None else datetime.fromisoformat(value)

    row = models.Tariff(
        id=tariff_id or uuid.UUID(snapshot["id"]),
        name=snapshot["name"],
        currency=snapshot["currency"],
        vat_percent=snapshot["vat_percent"],
        elements=snapshot["elements"],
        scope=models.TariffScope(snapshot["scope"]),
        target_id=None if snapshot.get("target_id") is None else uuid.UUID(snapshot["target_id"]),
        site_id=None if snapshot.get("site_id") is None else uuid.UUID(snapshot["site_id"]),
        valid_from=when("valid_from"),
        valid_until=when("valid_until"),
        created_at=when("created_at"),
    )
    row.frozen_in_session = True  # type: ignore[attr-defined]  # read by access.tariff_read
    return row


# --- prices ------------------------------------------------------------------------------------


@strawberry.type(name="PriceLine")
class PriceLineType:
    dimension: TariffDimension
    quantity: str = strawberry.field(description="In `unit` (kWh; hours to 4 decimals).")
    unit: str
    unit_price: str = strawberry.field(description="Per unit, excluding VAT.")
    step_size: int
    amount_excl_vat: str
    vat_percent: str
    vat: str
    amount_incl_vat: str

    @classmethod
    def of_line(cls, line: PriceLine) -> PriceLineType:
        return cls(
            dimension=line.dimension,
            quantity=str(line.quantity),
            unit=line.unit,
            unit_price=str(line.unit_price),
            step_size=line.step_size,
            amount_excl_vat=str(line.amount_excl_vat),
            vat_percent=str(line.vat_percent),
            vat=str(line.vat),
            amount_incl_vat=str(line.amount_incl_vat),
        )

    @classmethod
    def of_json(cls, data: dict[str, Any]) -> PriceLineType:
        return cls(
            dimension=TariffDimension(data["dimension"]),
            quantity=data["quantity"],
            unit=data["unit"],
            unit_price=data["unit_price"],
            step_size=data["step_size"],
            amount_excl_vat=data["amount_excl_vat"],
            vat_percent=data["vat_percent"],
            vat=data["vat"],
            amount_incl_vat=data["amount_incl_vat"],
        )


@strawberry.type(name="Price")
class PriceType:
    """A cost with one line per priced component. Each line and its VAT are rounded down to the
    currency's minor unit."""

    currency: str
    total_excl_vat: str
    total_vat: str
    total_incl_vat: str
    lines: list[PriceLineType]
    priced_until: datetime | None = strawberry.field(
        default=None,
        description="Sessions: the cost is as of this time (the latest reading; once stopped, "
        "until the connector was Available again, or the stop while that is unknown).",
    )
    final: bool = strawberry.field(
        default=True,
        description="Sessions: false while the session runs or its connector is not free yet.",
    )

    @classmethod
    def of_price(cls, price: Price) -> PriceType:
        return cls(
            currency=price.currency,
            total_excl_vat=str(price.total_excl_vat),
            total_vat=str(price.total_vat),
            total_incl_vat=str(price.total_incl_vat),
            lines=[PriceLineType.of_line(line) for line in price.lines],
        )


@strawberry.type(name="CostPoint")
class CostPointType:
    """The session's cumulated cost at an instant."""

    at: datetime
    total_excl_vat: str
    total_incl_vat: str


# --- inputs ------------------------------------------------------------------------------------


@strawberry.input
class TariffRestrictionsInput:
    start_time: str | None = strawberry.field(default=None, description="HH:MM, local.")
    end_time: str | None = None
    start_date: str | None = strawberry.field(default=None, description="YYYY-MM-DD, local.")
    end_date: str | None = None
    min_kwh: str | None = None
    max_kwh: str | None = None
    min_current: str | None = None
    max_current: str | None = None
    min_power: str | None = None
    max_power: str | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: list[DayOfWeek] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key in (
            "start_time",
            "end_time",
            "start_date",
            "end_date",
            "min_kwh",
            "max_kwh",
            "min_current",
            "max_current",
            "min_power",
            "max_power",
            "min_duration",
            "max_duration",
        ):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.day_of_week:
            data["day_of_week"] = [DayOfWeek(d).value for d in self.day_of_week]
        return data


@strawberry.input
class TariffPriceComponentInput:
    type: TariffDimension
    price: str = strawberry.field(description="A decimal string, excluding VAT.")
    step_size: int = 1
    vat_percent: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": TariffDimension(self.type).value,
            "price": self.price,
            "step_size": self.step_size,
        }
        if self.vat_percent is not None:
            data["vat"] = self.vat_percent
        return data


@strawberry.input
class TariffElementInput:
    price_components: list[TariffPriceComponentInput]
    restrictions: TariffRestrictionsInput | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"price_components": [c.to_json() for c in self.price_components]}
        if self.restrictions is not None:
            data["restrictions"] = self.restrictions.to_json()
        return data


@strawberry.input
class TariffInput:
    name: str
    currency: str = "EUR"
    vat_percent: str = strawberry.field(default="0", description='Percent, e.g. "20".')
    elements: list[TariffElementInput] = strawberry.field(default_factory=list)
    scope: models.TariffScope = models.TariffScope.ORGANIZATION
    target_id: strawberry.ID | None = strawberry.field(
        default=None, description="The site, site area or station (not for the organization)."
    )
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def to_data(self) -> TariffData:
        return TariffData(
            name=self.name,
            currency=self.currency,
            vat_percent=self.vat_percent,
            elements=[e.to_json() for e in self.elements],
            scope=models.TariffScope(self.scope),
            target_id=parse_optional_id(self.target_id, "targetId"),
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )


@strawberry.input
class SessionProfileInput:
    """A simple session for a preview: charging at constant power, then idle while plugged."""

    started_at: datetime
    duration_minutes: int = strawberry.field(description="Charging time.")
    energy_wh: int
    idle_minutes_after: int = strawberry.field(
        default=0, description="Plugged in but idle after the charge (parking)."
    )
    site_time_zone: str | None = strawberry.field(
        default=None,
        description="IANA name; default: the tariff's site's time zone, else UTC.",
    )


@strawberry.input
class TariffFilter:
    site_id: strawberry.ID | None = strawberry.field(
        default=None, description="Tariffs of this site (its areas and stations included)."
    )
    scope: models.TariffScope | None = None
    target_id: strawberry.ID | None = None
    valid_at: datetime | None = strawberry.field(
        default=None, description="Only tariffs valid at this time."
    )
    include_retired: bool = True


def decimal_text(value: Decimal) -> str:
    return str(value)
