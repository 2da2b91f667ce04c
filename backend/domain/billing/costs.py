"""The cost of charging sessions, as their readings arrive, at the stop, and once the connector
is Available again (the idle time until then is parking time).

Each session carries the tariff frozen at its start (`tariffs.Tariffs.freeze`). Pricing follows
`backend.pricing` (house rules in its README): the session is cut into minute slices from its
samples (session energies, meter resets already accounted for) and priced minute by minute.

Cheaply: the engine's state is saved in the session (`cost_state`) at the latest minute boundary
before the last reading, with the last sample at or before it (the anchor). New readings only
come after the last one, so the minutes before that boundary cannot change: the next pricing
reads the samples from the anchor on and prices the new minutes only. A late reading placed
before others (or a moved start) reprices the session from its start.

What is stored (minor units of the tariff's currency, never floats):
- on the session: the cost so far (excl. VAT, VAT, incl. VAT) and its lines (JSON: dimension,
  quantity, unit, unit price, amount, VAT); while it runs, as of its latest reading; once
  stopped, until the connector is Available again (or until the stop while that is unknown);
- on each meter sample: the cumulated cost as of the latest whole minute at or before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    BillingState,
    ChargingSession,
    Connector,
    MeterSample,
    SessionStatus,
)
from backend.domain.billing.settling import settle_if_final
from backend.domain.billing.tariffs import snapshot_tariff
from backend.events import RunningCost
from backend.pricing import MeterSample as PricedSample
from backend.pricing import Price, Tariff, build_profile, minor_digits
from backend.pricing.engine import CostPoint
from backend.pricing.incremental import Checkpoint, cost_at, price_from, start


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def to_minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(minor_digits(currency)))


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-minor_digits(currency))


_TARIFFS: dict[tuple[str, str], Tariff] = {}


def frozen_tariff(snapshot: dict[str, Any]) -> Tariff:
    """The pricing model of a frozen tariff (a snapshot never changes: parsed once)."""
    key = (str(snapshot.get("id")), str(snapshot.get("frozen_at")))
    found = _TARIFFS.get(key)
    if found is None:
        if len(_TARIFFS) > 1000:
            _TARIFFS.clear()
        found = _TARIFFS[key] = snapshot_tariff(snapshot)
    return found


def lines_json(price: Price) -> list[dict[str, Any]]:
    return [
        {
            "dimension": line.dimension.value,
            "element_index": line.element_index,
            "quantity": str(line.quantity),
            "unit": line.unit,
            "unit_price": str(line.unit_price),
            "step_size": line.step_size,
            "base_quantity": str(line.base_quantity),
            "base_unit": line.base_unit,
            "amount_excl_vat": str(line.amount_excl_vat),
            "vat_percent": str(line.vat_percent),
            "vat": str(line.vat),
            "amount_incl_vat": str(line.amount_incl_vat),
        }
        for line in price.lines
    ]


def _current(row: Any) -> Decimal | None:
    phases = [row.current_a_l1, row.current_a_l2, row.current_a_l3]
    known = [Decimal(str(value)) for value in phases if value is not None]
    return sum(known, Decimal(0)) if known else None


_COLUMNS = (
    MeterSample.id,
    MeterSample.sampled_at,
    MeterSample.session_energy_wh,
    MeterSample.current_a_l1,
    MeterSample.current_a_l2,
    MeterSample.current_a_l3,
    MeterSample.cost_excl_vat_minor,
    MeterSample.cost_incl_vat_minor,
)


class SessionCosts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def price(
        self,
        charging: ChargingSession,
        *,
        unsaved: Sequence[MeterSample] = (),
        full: bool = False,
    ) -> None:
        """Bring the session's cost (and its samples' cumulated costs) up to date.

        `unsaved`: the session's new samples not written yet (they get their cost before they
        are inserted). `full`: reprice from the start (readings arrived out of order).
        """
        snapshot = charging.tariff_snapshot
        if snapshot is None:
            return
        tariff = frozen_tariff(snapshot)
        zone = snapshot.get("time_zone") or "UTC"
        state = charging.cost_state if not full else None
        anchor: dict[str, Any] | None = None
        checkpoint = start(charging.started_at)
        if state and state.get("anchor") and state.get("checkpoint"):
            anchor = state["anchor"]
            checkpoint = Checkpoint.from_json(state["checkpoint"])
        for _ in range(2):
            done = await self._price(charging, tariff, zone, checkpoint, anchor, unsaved)
            if done:
                # Final now (stopped, connector Available): billed or not, in this transaction.
                settle_if_final(charging)
                return
            anchor, checkpoint = None, start(charging.started_at)  # inconsistent: from scratch

    async def _price(
        self,
        charging: ChargingSession,
        tariff: Tariff,
        zone: str,
        checkpoint: Checkpoint,
        anchor: dict[str, Any] | None,
        unsaved: Sequence[MeterSample],
    ) -> bool:
        query = select(*_COLUMNS).where(MeterSample.session_id == charging.id)
        anchor_at = datetime.fromisoformat(anchor["at"]) if anchor else None
        if anchor_at is not None:
            query = query.where(MeterSample.sampled_at >= anchor_at)
        rows: dict[datetime, Any] = {
            row.sampled_at: row
            for row in (await self.session.execute(query.order_by(MeterSample.sampled_at)))
        }
        fresh = {row.sampled_at: row for row in unsaved if row.session_id == charging.id}
        if anchor_at is not None:
            fresh = {at: row for at, row in fresh.items() if at >= anchor_at}
        rows.update(fresh)
        ordered = sorted(rows.items())

        points: dict[datetime, PricedSample] = {
            at: PricedSample(at, Decimal(row.session_energy_wh), _current(row))
            for at, row in ordered
            if row.session_energy_wh is not None
        }
        stopped = charging.status is SessionStatus.COMPLETED and charging.stopped_at is not None
        if stopped and charging.stopped_at is not None:
            at = charging.stopped_at
            previous = points.get(at)
            points[at] = PricedSample(
                at, Decimal(charging.energy_wh), previous.current_a if previous else None
            )
        samples = sorted(points.values(), key=lambda s: s.at)
        last_at = samples[-1].at if samples else charging.started_at

        if anchor_at is not None:
            profile = build_profile(
                started_at=_minute(anchor_at),
                samples=samples,
                stopped_at=charging.stopped_at if stopped else None,
                available_at=charging.available_at if stopped else None,
                now=None if stopped else last_at,
            )
        else:
            profile = build_profile(
                started_at=charging.started_at,
                samples=samples,
                meter_start_wh=Decimal(0),
                stopped_at=charging.stopped_at if stopped else None,
                available_at=charging.available_at if stopped else None,
                now=None if stopped else max(last_at, charging.started_at),
            )
        slices = [piece for piece in profile.slices if piece.start >= checkpoint.at]
        if slices and slices[0].start != checkpoint.at:
            return False
        keep_until = _minute(last_at) if samples else None
        price, kept = price_from(
            tariff,
            checkpoint,
            slices,
            session_started_at=charging.started_at,
            time_zone=zone,
            keep_until=keep_until,
        )

        currency = tariff.currency
        charging.cost_currency = currency
        charging.cost_excl_vat_minor = to_minor(price.total_excl_vat, currency)
        charging.cost_vat_minor = to_minor(price.total_vat, currency)
        charging.cost_incl_vat_minor = to_minor(price.total_incl_vat, currency)
        charging.cost_lines = lines_json(price)

        # The next pricing starts from the last real sample at or before the kept minute.
        new_anchor = None
        for at, row in reversed(ordered):
            if at <= kept.at and row.session_energy_wh is not None:
                new_anchor = {"at": at.isoformat(), "energy_wh": row.session_energy_wh}
                break
        charging.cost_state = (
            {"checkpoint": kept.to_json(), "anchor": new_anchor} if new_anchor else None
        )

        zero = Decimal(0)
        curve = [
            CostPoint(
                checkpoint.at,
                checkpoint.total_excl_vat or zero,
                checkpoint.total_incl_vat or zero,
            ),
            *price.curve,
        ]
        updates = []
        for at, row in ordered:
            if at < checkpoint.at:
                continue
            point = cost_at(curve, at)
            if point is None:
                continue
            excl = to_minor(point.total_excl_vat, currency)
            incl = to_minor(point.total_incl_vat, currency)
            if at in fresh:
                row.cost_excl_vat_minor, row.cost_incl_vat_minor = excl, incl
            elif (row.cost_excl_vat_minor, row.cost_incl_vat_minor) != (excl, incl):
                updates.append({"_id": row.id, "_excl": excl, "_incl": incl})
        if updates:
            table = MeterSample.__table__
            await self.session.execute(
                update(table)  # type: ignore[arg-type]
                .where(table.c.id == bindparam("_id"))
                .values(
                    cost_excl_vat_minor=bindparam("_excl"),
                    cost_incl_vat_minor=bindparam("_incl"),
                ),
                updates,
            )
        return True

    async def connector_available(
        self, connector_id: uuid.UUID, at: datetime
    ) -> ChargingSession | None:
        """The connector is free again: the session that stopped on it ends its parking time
        at `at`, and is priced to there (that session, whose cost is now final). None when no
        session was waiting for it."""
        latest = await self.session.scalar(
            select(ChargingSession)
            .where(ChargingSession.connector_id == connector_id)
            .order_by(ChargingSession.started_at.desc())
            .limit(1)
        )
        if (
            latest is None
            or latest.status is not SessionStatus.COMPLETED
            or latest.available_at is not None
            or latest.stopped_at is None
            or latest.tariff_snapshot is None
            or at < latest.stopped_at
            # Already settled by billing (e.g. billed at its stop after billing_settle_after_h
            # without an Available): its cost no longer changes.
            or latest.billing_state not in (None, BillingState.UNBILLED)
        ):
            return None
        latest.available_at = at
        await self.price(latest)
        return latest

    async def available_at_stop(self, charging: ChargingSession) -> None:
        """At the stop: if the connector already said it is Available (messages crossing),
        parking ends there (or at the stop)."""
        if charging.connector_id is None or charging.stopped_at is None:
            return
        connector = await self.session.get(Connector, charging.connector_id)
        if connector is None or connector.status != "Available" or connector.status_at is None:
            return
        if connector.status_at >= charging.started_at:
            charging.available_at = max(connector.status_at, charging.stopped_at)


def running_cost(charging: ChargingSession) -> RunningCost | None:
    """The session's cost as it stands (what live events carry); None without a tariff."""
    currency = charging.cost_currency
    excl, vat, incl = (
        charging.cost_excl_vat_minor,
        charging.cost_vat_minor,
        charging.cost_incl_vat_minor,
    )
    if currency is None or excl is None or vat is None or incl is None:
        return None
    # Final as in the `cost` field of the API: stopped, and priced until the connector was free.
    final = charging.status is SessionStatus.COMPLETED and charging.available_at is not None
    return RunningCost(currency, excl, vat, incl, final)


def cost_curve(
    samples: Sequence[tuple[datetime, int | None, int | None]],
    charging: ChargingSession,
    max_points: int,
) -> list[tuple[datetime, int, int]]:
    """The cost curve from the samples' cumulated costs (minor units), downsampled to at most
    `max_points` (the latest point of each bucket: the cost is cumulative), ending with the
    session's cost at the end of its pricing."""
    points = [
        (at, excl, incl) for at, excl, incl in samples if excl is not None and incl is not None
    ]
    end = charging.available_at or charging.stopped_at
    if (
        charging.cost_excl_vat_minor is not None
        and charging.cost_incl_vat_minor is not None
        and end is not None
        and (not points or points[-1][0] < end)
    ):
        points.append((end, charging.cost_excl_vat_minor, charging.cost_incl_vat_minor))
    if len(points) <= max_points:
        return points  # type: ignore[return-value]
    size = len(points) / max_points
    picked = [points[min(len(points) - 1, int((i + 1) * size) - 1)] for i in range(max_points)]
    picked[-1] = points[-1]
    return picked  # type: ignore[return-value]


__all__ = ["SessionCosts", "cost_curve", "from_minor", "lines_json", "running_cost", "to_minor"]
