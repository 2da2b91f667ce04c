"""Charging sessions: start, meter values, stop, for OCPP 1.6 and 2.0.1 alike.

Guarantees:
- OCPP 1.6 transaction ids are ours: `ocpp_transaction_ids` hands them out, unique across
  processes and backends. 2.0.1 transaction ids are the station's, unique per station.
- Idempotent: a repeated start (same station, connector, badge and time, or same 2.0.1
  transaction id) returns the session already open; meter values merge into one row per
  instant (`meter_samples` is unique on session and time), so the same values twice never count
  twice; a stop for a stopped or unknown transaction is acknowledged and changes nothing.
- Late and out of order: readings are placed by their timestamps. A reading after the latest
  one extends the curve; one placed before refolds the session's curve (`curve.fold`).
- A reboot (boot notification while a session is open) or a new start on the same connector
  closes the open session with its last reading (`closed_by_csms`); a late real stop for it
  still corrects it.
- A meter that resets continues from the last total (see `curve.step`).
- Priced: the tariff that applies is frozen into the session at its start, and the session is
  priced as its readings arrive, at the stop, and when its connector is Available again
  (`backend.domain.billing`): once per session and transaction, just before the commit.

Many stations at once (`record_many`): the meter values of many stations go through the same
rules in one database transaction. With `deferred=True` a `Sessions` never commits itself: its
operations flush, and whoever owns the transaction commits and then calls `publish_pending()`
(the OCPP adapter's write-behind batcher, `ocpp_server/ingest.py`). Events are published only
after the commit, so nobody hears of a reading that is not durable.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    ChargingSession,
    ChargingStation,
    Connector,
    MeterSample,
    OcppTransactionId,
    SessionStatus,
)
from backend.domain.billing.costs import SessionCosts, running_cost
from backend.domain.billing.tariffs import Tariffs
from backend.domain.charging import curve
from backend.domain.charging.authorization import Authorization, AuthorizationResult
from backend.domain.charging.curve import Reading
from backend.domain.charging.status import ensure_connector
from backend.events import (
    CurvePoint,
    Event,
    EventBus,
    SessionStarted,
    SessionStopped,
    SessionUpdated,
    publish_all,
)

REBOOT = "Reboot"
SUPERSEDED = "Superseded"


@dataclass(frozen=True)
class StartRequest:
    evse_id: int
    connector_number: int
    started_at: datetime
    meter_start_wh: int | None
    id_tag: str | None
    # 2.0.1: the station's transaction id; None in 1.6, where we hand out the id.
    transaction_id: str | None = None
    readings: Sequence[Reading] = ()


@dataclass(frozen=True)
class StartResult:
    session_id: uuid.UUID
    transaction_id: str
    authorization: AuthorizationResult | None
    repeated: bool  # this start was seen before: nothing new was created


@dataclass(frozen=True)
class StopRequest:
    stopped_at: datetime
    meter_stop_wh: int | None
    reason: str | None = None
    id_tag: str | None = None
    readings: Sequence[Reading] = ()


@dataclass(frozen=True)
class ReadingsRequest:
    """Meter values for `record_many`: the arguments of one `record_readings` call."""

    station_id: uuid.UUID
    readings: Sequence[Reading]
    transaction_id: str | None = None
    evse_id: int | None = None
    connector_number: int | None = None
    # 2.0.1: a transaction event about a transaction not known yet opens it first (its Started
    # never came, or comes later).
    start: StartRequest | None = None


@dataclass(frozen=True)
class StopResult:
    known: bool  # the transaction exists
    counted: bool  # this stop changed the session (False for a repeat)
    session_id: uuid.UUID | None = None
    authorization: AuthorizationResult | None = None


def _meter_start(req: StartRequest) -> int | None:
    if req.meter_start_wh is not None:
        return req.meter_start_wh
    ordered = sorted(req.readings, key=lambda r: r.at)
    return next((r.energy_wh for r in ordered if r.energy_wh is not None), None)


_SAMPLE_COLUMNS = (
    "session_id",
    "sampled_at",
    "energy_wh",
    "session_energy_wh",
    "power_w",
    "current_a_l1",
    "current_a_l2",
    "current_a_l3",
    "voltage_v_l1",
    "voltage_v_l2",
    "voltage_v_l3",
    "soc_percent",
    "cost_excl_vat_minor",
    "cost_incl_vat_minor",
)


def _reading(row: MeterSample) -> Reading:
    return Reading(
        at=row.sampled_at,
        energy_wh=row.energy_wh,
        power_w=row.power_w,
        current_a=(row.current_a_l1, row.current_a_l2, row.current_a_l3),
        voltage_v=(row.voltage_v_l1, row.voltage_v_l2, row.voltage_v_l3),
        soc_percent=row.soc_percent,
    )


def _apply(row: MeterSample, reading: Reading) -> None:
    row.energy_wh = reading.energy_wh
    row.power_w = reading.power_w
    row.current_a_l1, row.current_a_l2, row.current_a_l3 = reading.current_a
    row.voltage_v_l1, row.voltage_v_l2, row.voltage_v_l3 = reading.voltage_v
    row.soc_percent = reading.soc_percent


def _point(row: MeterSample, cost: tuple[int | None, int | None] | None = None) -> CurvePoint:
    excl, incl = cost if cost is not None else (row.cost_excl_vat_minor, row.cost_incl_vat_minor)
    return CurvePoint(
        at=row.sampled_at,
        energy_wh=row.session_energy_wh,
        power_w=row.power_w,
        current_a=(row.current_a_l1, row.current_a_l2, row.current_a_l3),
        voltage_v=(row.voltage_v_l1, row.voltage_v_l2, row.voltage_v_l3),
        soc_percent=row.soc_percent,
        cost_excl_vat_minor=excl,
        cost_incl_vat_minor=incl,
    )


@dataclass(frozen=True)
class _Unpriced:
    """A session's event, told before the session is priced (just before the commit): it gets
    the session's running cost and its points their cumulated costs then (`_completed`)."""

    event: SessionUpdated | SessionStopped
    charging: ChargingSession
    rows: tuple[MeterSample, ...] = ()


class Sessions:
    def __init__(self, session: AsyncSession, bus: EventBus, *, deferred: bool = False) -> None:
        self.session = session
        self.bus = bus
        self._events: list[Event | _Unpriced] = []
        # deferred: flush instead of committing; the owner of the transaction commits, then
        # publishes what it meant (`publish_pending`).
        self.deferred = deferred
        self._pending: list[Event] = []
        # Within `record_many`: sessions and samples read once for the whole batch.
        self._by_transaction: dict[tuple[uuid.UUID, str], ChargingSession] = {}
        self._samples: dict[uuid.UUID, dict[datetime, MeterSample]] = {}
        self._covered: set[tuple[uuid.UUID, datetime]] = set()
        # New samples that extend their curve, written in one INSERT before anything reads
        # meter_samples again and before the commit (`_save_samples`).
        self._unsaved: list[MeterSample] = []
        # Sessions to price before the commit, and whether from their start (`_price_pending`).
        self._to_price: dict[uuid.UUID, tuple[ChargingSession, bool]] = {}

    # --- reading -------------------------------------------------------------------------------

    async def find(self, station_id: uuid.UUID, transaction_id: str) -> ChargingSession | None:
        return await self.session.scalar(
            select(ChargingSession).where(
                ChargingSession.station_id == station_id,
                ChargingSession.ocpp_transaction_id == transaction_id,
            )
        )

    async def active_on(
        self, station_id: uuid.UUID, evse_id: int, connector_number: int | None = None
    ) -> ChargingSession | None:
        query = (
            select(ChargingSession)
            .join(Connector, Connector.id == ChargingSession.connector_id)
            .where(
                ChargingSession.station_id == station_id,
                ChargingSession.status == SessionStatus.ACTIVE,
                Connector.evse_id == evse_id,
            )
            .order_by(ChargingSession.started_at.desc())
            .limit(1)
        )
        if connector_number is not None:
            query = query.where(Connector.connector_id == connector_number)
        return await self.session.scalar(query)

    # --- start ---------------------------------------------------------------------------------

    async def start(self, station_id: uuid.UUID, req: StartRequest) -> StartResult:
        connector = await ensure_connector(
            self.session, station_id, req.evse_id, req.connector_number
        )
        existing: ChargingSession | None
        if req.transaction_id is not None:
            existing = await self.find(station_id, req.transaction_id)
        else:
            existing = await self.session.scalar(
                select(ChargingSession).where(
                    ChargingSession.station_id == station_id,
                    ChargingSession.connector_id == connector.id,
                    ChargingSession.started_at == req.started_at,
                    ChargingSession.id_tag == req.id_tag,
                )
            )
        authorization = None
        if req.id_tag:
            authorization = await Authorization(self.session).authorize_badge(
                station_id, req.id_tag, at=req.started_at, record=existing is None
            )
        if existing is not None:
            await self._restart(existing, req, authorization)
            await self._commit()
            return StartResult(existing.id, existing.ocpp_transaction_id, authorization, True)

        await self.close_open(
            station_id, SUPERSEDED, connector_id=connector.id, commit=False, before=req.started_at
        )
        transaction_id = req.transaction_id
        if transaction_id is None:
            counter = OcppTransactionId(station_id=station_id)
            self.session.add(counter)
            await self.session.flush()
            transaction_id = str(counter.id)
        meter_start = _meter_start(req)
        charging = ChargingSession(
            station_id=station_id,
            connector_id=connector.id,
            user_id=authorization.user_id if authorization else None,
            id_tag=req.id_tag,
            ocpp_transaction_id=transaction_id,
            status=SessionStatus.ACTIVE,
            started_at=req.started_at,
            meter_start_wh=meter_start or 0,
            last_meter_wh=meter_start,
            energy_wh=0,
            instant_power_w=0,
            inactivity_s=0,
        )
        await Tariffs(self.session).freeze(charging)
        self.session.add(charging)
        await self.session.flush()
        site_id = await self._site_id(station_id)
        self._events.append(
            SessionStarted(
                session_id=charging.id,
                station_id=station_id,
                site_id=site_id,
                user_id=charging.user_id,
                connector_id=connector.id,
                transaction_id=transaction_id,
                started_at=charging.started_at,
                meter_start_wh=charging.meter_start_wh,
            )
        )
        if req.readings:
            await self._add_readings(charging, req.readings)
        await self._commit()
        return StartResult(charging.id, transaction_id, authorization, False)

    async def _restart(
        self,
        charging: ChargingSession,
        req: StartRequest,
        authorization: AuthorizationResult | None,
    ) -> None:
        """A start seen again, or (2.0.1) arriving after the session's later events."""
        if charging.id_tag is None and req.id_tag:
            charging.id_tag = req.id_tag
            charging.user_id = authorization.user_id if authorization else None
        rebuild = False
        if req.started_at < charging.started_at:
            charging.started_at = req.started_at
            meter_start = _meter_start(req)
            if meter_start is not None:
                charging.meter_start_wh = meter_start
            rebuild = True
        if req.readings:
            await self._add_readings(charging, req.readings, rebuild=rebuild)
        elif rebuild:
            await self._rebuild(charging)
            self._reprice(charging, full=True)
            self._updated(charging, [], rebuilt=True)

    async def identify(
        self, station_id: uuid.UUID, transaction_id: str, id_tag: str
    ) -> AuthorizationResult:
        """A badge presented during a transaction (2.0.1 TransactionEvent with an idToken)."""
        charging = await self.find(station_id, transaction_id)
        known = charging is not None and charging.id_tag == id_tag
        authorization = await Authorization(self.session).authorize_badge(
            station_id, id_tag, record=not known
        )
        if charging is not None and charging.id_tag is None:
            charging.id_tag = id_tag
            charging.user_id = authorization.user_id
        await self._commit()
        return authorization

    # --- meter values --------------------------------------------------------------------------

    async def record_readings(
        self,
        station_id: uuid.UUID,
        readings: Sequence[Reading],
        *,
        transaction_id: str | None = None,
        evse_id: int | None = None,
        connector_number: int | None = None,
    ) -> bool:
        """Meter values of a transaction (or of whatever session is open on the connector).

        False when there is no session to put them in (they are dropped, and acknowledged).
        """
        charging = None
        if transaction_id is not None:
            charging = await self.find(station_id, transaction_id)
        elif evse_id:
            charging = await self.active_on(station_id, evse_id, connector_number)
        if charging is None or not readings:
            return False
        await self._add_readings(charging, readings)
        await self._commit()
        return True

    async def record_many(self, requests: Sequence[ReadingsRequest]) -> list[bool]:
        """`record_readings` for each request, in order, in this one transaction: the same
        rules, with the sessions and the samples they may touch read once for all of them."""
        await self._prefetch(requests)
        results = []
        for req in requests:
            charging = None
            if req.transaction_id is not None:
                key = (req.station_id, req.transaction_id)
                charging = self._by_transaction.get(key)
                if charging is None and req.start is not None:
                    await self.start(req.station_id, req.start)
                    charging = await self.find(req.station_id, req.transaction_id)
                    if charging is not None:
                        self._by_transaction[key] = charging
            elif req.evse_id:
                charging = await self.active_on(req.station_id, req.evse_id, req.connector_number)
            if charging is None or not req.readings:
                results.append(False)
                continue
            await self._add_readings(charging, req.readings)
            results.append(True)
        await self._commit()
        return results

    async def _prefetch(self, requests: Sequence[ReadingsRequest]) -> None:
        wanted = {(r.station_id, r.transaction_id) for r in requests if r.transaction_id}
        if not wanted:
            return
        rows = await self.session.scalars(
            select(ChargingSession).where(
                tuple_(ChargingSession.station_id, ChargingSession.ocpp_transaction_id).in_(
                    list(wanted)
                )
            )
        )
        for row in rows:
            self._by_transaction[(row.station_id, row.ocpp_transaction_id)] = row
        # Samples that may exist already: at or before the session's latest sample (none is
        # later). Readings after it, the usual case, need no look-up.
        times: dict[uuid.UUID, set[datetime]] = {}
        maybe: list[tuple[uuid.UUID, datetime]] = []
        for req in requests:
            found = self._by_transaction.get((req.station_id, req.transaction_id or ""))
            if found is None:
                continue
            ats = times.setdefault(found.id, set())
            for reading in req.readings:
                ats.add(reading.at)
                if found.last_sample_at is not None and reading.at <= found.last_sample_at:
                    maybe.append((found.id, reading.at))
        if maybe:
            existing = await self.session.scalars(
                select(MeterSample).where(
                    tuple_(MeterSample.session_id, MeterSample.sampled_at).in_(maybe)
                )
            )
            for sample in existing:
                self._samples.setdefault(sample.session_id, {})[sample.sampled_at] = sample
        self._covered.update((sid, at) for sid, ats in times.items() for at in ats)

    async def _existing(
        self, charging: ChargingSession, moments: list[datetime]
    ) -> dict[datetime, MeterSample]:
        """The session's samples at these instants (from the batch's reads when they cover
        them: the samples added since are in there too)."""
        if all((charging.id, at) in self._covered for at in moments):
            known = self._samples.get(charging.id, {})
            return {at: known[at] for at in moments if at in known}
        await self._save_samples()
        return {
            row.sampled_at: row
            for row in await self.session.scalars(
                select(MeterSample).where(
                    MeterSample.session_id == charging.id,
                    MeterSample.sampled_at.in_(moments),
                )
            )
        }

    async def _save_samples(self) -> None:
        """Write the new samples kept aside by `_add_readings`, all in one statement (the
        unit of work's per-object bookkeeping was most of a meter value's cost)."""
        if not self._unsaved:
            return
        rows, self._unsaved = self._unsaved, []
        await self.session.flush()  # their sessions first (foreign keys)
        await self.session.execute(
            insert(MeterSample.__table__),  # type: ignore[arg-type]
            [{c: getattr(row, c) for c in _SAMPLE_COLUMNS} for row in rows],
        )
        for row in rows:  # written: from now on they are read back like any other
            self._covered.discard((row.session_id, row.sampled_at))
            self._samples.get(row.session_id, {}).pop(row.sampled_at, None)

    async def _store(
        self, charging: ChargingSession, readings: Sequence[Reading], *, add: bool = True
    ) -> tuple[list[MeterSample], bool]:
        """Merge readings into the session's samples: the new rows, and whether old ones changed.
        New rows are added to the database session unless `add` is False (the caller does)."""
        by_at: dict[datetime, Reading] = {}
        for reading in readings:
            if reading.at < charging.started_at:
                continue
            if charging.stopped_at is not None and reading.at > charging.stopped_at:
                continue
            previous = by_at.get(reading.at)
            by_at[reading.at] = previous.merged(reading) if previous else reading
        if not by_at:
            return [], False
        existing = await self._existing(charging, list(by_at))
        new_rows: list[MeterSample] = []
        changed = False
        for at in sorted(by_at):
            reading = by_at[at]
            row = existing.get(at)
            if row is None:
                row = MeterSample(session_id=charging.id, sampled_at=at)
                _apply(row, reading)
                if add:
                    self.session.add(row)
                new_rows.append(row)
                if (charging.id, at) in self._covered:
                    self._samples.setdefault(charging.id, {})[at] = row
            else:
                old = _reading(row)
                merged = old.merged(reading)
                if merged != old:
                    _apply(row, merged)
                    changed = True
        return new_rows, changed

    async def _add_readings(
        self, charging: ChargingSession, readings: Sequence[Reading], *, rebuild: bool = False
    ) -> None:
        new_rows, changed = await self._store(charging, readings, add=False)
        if not new_rows and not changed and not rebuild:
            return  # the same values again
        if charging.last_meter_wh is None and charging.last_sample_at is None:
            # The start said no meter reading: the first one is where the session starts.
            first = next((r.energy_wh for r in new_rows if r.energy_wh is not None), None)
            if first is not None:
                charging.meter_start_wh = first
                charging.last_meter_wh = first
        extend = (
            not rebuild
            and not changed
            and charging.status is SessionStatus.ACTIVE
            and (
                charging.last_sample_at is None or new_rows[0].sampled_at > charging.last_sample_at
            )
        )
        if extend:
            state = self._state(charging)
            for row in new_rows:
                state = curve.step(state, _reading(row))
                row.session_energy_wh = state.energy_wh
            self._save(charging, state, new_rows[-1].sampled_at)
            self._unsaved.extend(new_rows)
        else:
            self.session.add_all(new_rows)
            await self.session.flush()
            await self._rebuild(charging)
        self._reprice(charging, full=not extend)
        self._updated(charging, new_rows, rebuilt=not extend)

    # --- stop ----------------------------------------------------------------------------------

    async def stop(
        self, station_id: uuid.UUID, transaction_id: str, req: StopRequest
    ) -> StopResult:
        charging = await self.find(station_id, transaction_id)
        repeated = charging is not None and (
            charging.status is SessionStatus.COMPLETED and not charging.closed_by_csms
        )
        authorization = None
        if req.id_tag:
            authorization = await Authorization(self.session).authorize_badge(
                station_id,
                req.id_tag,
                at=req.stopped_at,
                record=not repeated and charging is not None,
            )
        if charging is None or repeated:
            await self._commit()
            return StopResult(
                known=charging is not None,
                counted=False,
                session_id=charging.id if charging else None,
                authorization=authorization,
            )
        previous_last = charging.last_sample_at
        reopened = charging.status is SessionStatus.COMPLETED  # closed by us, now really stopped
        charging.status = SessionStatus.COMPLETED
        charging.closed_by_csms = False
        charging.stopped_at = max(req.stopped_at, charging.started_at)
        charging.stop_reason = (req.reason or "Local")[:32]
        new_rows, changed = await self._store(charging, req.readings)
        meter_stop = req.meter_stop_wh
        if meter_stop is None:
            meter_stop = next(
                (r.energy_wh for r in reversed(new_rows) if r.energy_wh is not None),
                charging.last_meter_wh,
            )
        charging.meter_stop_wh = meter_stop
        await self.session.flush()
        await self._rebuild(charging)
        late = previous_last is not None and any(r.sampled_at <= previous_last for r in new_rows)
        if charging.available_at is None:
            await SessionCosts(self.session).available_at_stop(charging)
        self._reprice(charging, full=reopened or changed or late)
        if new_rows:
            self._updated(charging, new_rows, rebuilt=True)
        self._stopped(charging)
        await self._commit()
        return StopResult(True, True, charging.id, authorization)

    async def close_open(
        self,
        station_id: uuid.UUID,
        reason: str,
        *,
        connector_id: uuid.UUID | None = None,
        commit: bool = True,
        before: datetime | None = None,
    ) -> list[uuid.UUID]:
        """Close the station's open sessions (on one connector) with their last reading."""
        query = select(ChargingSession).where(
            ChargingSession.station_id == station_id,
            ChargingSession.status == SessionStatus.ACTIVE,
        )
        if connector_id is not None:
            query = query.where(ChargingSession.connector_id == connector_id)
        if before is not None:
            query = query.where(ChargingSession.started_at <= before)
        closed = []
        for charging in await self.session.scalars(query):
            charging.status = SessionStatus.COMPLETED
            charging.closed_by_csms = True
            charging.stopped_at = charging.last_sample_at or charging.started_at
            charging.meter_stop_wh = (
                charging.last_meter_wh
                if charging.last_meter_wh is not None
                else charging.meter_start_wh
            )
            charging.stop_reason = reason[:32]
            charging.instant_power_w = 0
            charging.last_power_w = 0
            self._reprice(charging)
            self._stopped(charging)
            closed.append(charging.id)
        if commit:
            await self._commit()
        return closed

    # --- the curve -----------------------------------------------------------------------------

    @staticmethod
    def _state(charging: ChargingSession) -> curve.CurveState:
        return curve.CurveState(
            at=charging.last_sample_at or charging.started_at,
            register_wh=charging.last_meter_wh,
            power_w=charging.last_power_w,
            energy_wh=charging.energy_wh,
            inactivity_s=charging.inactivity_s,
            instant_w=charging.instant_power_w,
        )

    @staticmethod
    def _save(charging: ChargingSession, state: curve.CurveState, last_at: datetime | None) -> None:
        charging.energy_wh = state.energy_wh
        charging.inactivity_s = state.inactivity_s
        charging.last_meter_wh = state.register_wh
        charging.last_power_w = state.power_w
        charging.last_sample_at = last_at
        active = charging.status is SessionStatus.ACTIVE
        charging.instant_power_w = state.instant_w if active else 0

    async def _rebuild(self, charging: ChargingSession) -> None:
        await self._save_samples()
        rows = list(
            await self.session.scalars(
                select(MeterSample)
                .where(MeterSample.session_id == charging.id)
                .order_by(MeterSample.sampled_at)
            )
        )
        state = curve.initial(charging.started_at, charging.meter_start_wh)
        for row in rows:
            state = curve.step(state, _reading(row))
            if row.session_energy_wh != state.energy_wh:
                row.session_energy_wh = state.energy_wh
        last_at = rows[-1].sampled_at if rows else None
        if charging.status is SessionStatus.COMPLETED and charging.stopped_at is not None:
            state = curve.stopped(state, charging.stopped_at, charging.meter_stop_wh)
        self._save(charging, state, last_at)

    # --- events --------------------------------------------------------------------------------

    async def _site_id(self, station_id: uuid.UUID) -> uuid.UUID | None:
        return await self.session.scalar(
            select(ChargingStation.site_id).where(ChargingStation.id == station_id)
        )

    def _common(self, charging: ChargingSession) -> dict[str, object]:
        return {
            "session_id": charging.id,
            "station_id": charging.station_id,
            "site_id": None,  # filled in at publication
            "user_id": charging.user_id,
            "connector_id": charging.connector_id,
            "transaction_id": charging.ocpp_transaction_id,
        }

    def _updated(
        self, charging: ChargingSession, rows: list[MeterSample], *, rebuilt: bool
    ) -> None:
        # The points are made at the commit, once the new samples have their costs.
        event = SessionUpdated(
            **self._common(charging),  # type: ignore[arg-type]
            energy_wh=charging.energy_wh,
            instant_power_w=charging.instant_power_w,
            inactivity_s=charging.inactivity_s,
            rebuilt=rebuilt,
        )
        self._events.append(_Unpriced(event, charging, tuple(rows)))

    def _stopped(self, charging: ChargingSession) -> None:
        event = SessionStopped(
            **self._common(charging),  # type: ignore[arg-type]
            stopped_at=charging.stopped_at,
            energy_wh=charging.energy_wh,
            inactivity_s=charging.inactivity_s,
            stop_reason=charging.stop_reason,
        )
        self._events.append(_Unpriced(event, charging))

    async def _completed(self, items: list[Event | _Unpriced]) -> list[Event]:
        """The events with the costs the pricing just stored: the session's running cost, and
        each point's cumulated cost."""
        events: list[Event] = []
        for item in items:
            if not isinstance(item, _Unpriced):
                events.append(item)
                continue
            cost = running_cost(item.charging)
            if isinstance(item.event, SessionStopped):
                events.append(replace(item.event, cost=cost))
                continue
            stored: dict[datetime, tuple[int | None, int | None]] = {}
            if cost is not None and item.event.rebuilt:
                # Samples written before the pricing got their costs by an UPDATE that their
                # objects do not see (new samples that extend the curve get them in place).
                stored = await self._stored_costs(item.charging, item.rows)
            points = tuple(_point(row, stored.get(row.sampled_at)) for row in item.rows)
            events.append(replace(item.event, points=points, cost=cost))
        return events

    async def _stored_costs(
        self, charging: ChargingSession, rows: Sequence[MeterSample]
    ) -> dict[datetime, tuple[int | None, int | None]]:
        if not rows:
            return {}
        found = await self.session.execute(
            select(
                MeterSample.sampled_at,
                MeterSample.cost_excl_vat_minor,
                MeterSample.cost_incl_vat_minor,
            ).where(
                MeterSample.session_id == charging.id,
                MeterSample.sampled_at.in_([row.sampled_at for row in rows]),
            )
        )
        return {at: (excl, incl) for at, excl, incl in found}

    def _reprice(self, charging: ChargingSession, *, full: bool = False) -> None:
        if charging.tariff_snapshot is None:
            return
        known = self._to_price.get(charging.id)
        self._to_price[charging.id] = (charging, full or (known is not None and known[1]))

    async def _price_pending(self) -> None:
        """Price the sessions that changed, once each, before their new samples are written
        (so that these are inserted with their cumulated cost)."""
        pending, self._to_price = self._to_price, {}
        costs = SessionCosts(self.session)
        for charging, full in pending.values():
            await costs.price(charging, unsaved=self._unsaved, full=full)

    async def _commit(self) -> None:
        """Commit, then publish what the committed changes mean (with the stations' sites).
        Deferred: flush, and keep the events for `publish_pending` after the owner's commit."""
        await self._price_pending()
        await self._save_samples()
        items, self._events = self._events, []
        events = await self._completed(items)
        if self.deferred:
            self._pending.extend(events)
            await self.session.flush()
            return
        sites = await self._sites(events)
        await self.session.commit()
        await self._publish(events, sites)

    async def publish_pending(self) -> None:
        """Deferred: the owner committed; publish the events of everything since."""
        events, self._pending = self._pending, []
        await self._publish(events, await self._sites(events))

    def discard_pending(self) -> None:
        """Deferred: the owner rolled back; nothing happened."""
        self._pending = []
        self._events = []
        self._to_price = {}

    async def _sites(self, events: list[Event]) -> dict[uuid.UUID, uuid.UUID | None]:
        stations = {e.station_id for e in events if isinstance(e, SessionUpdated | SessionStopped)}
        if not stations:
            return {}
        if len(stations) == 1:
            [station_id] = stations
            return {station_id: await self._site_id(station_id)}
        rows = await self.session.execute(
            select(ChargingStation.id, ChargingStation.site_id).where(
                ChargingStation.id.in_(stations)
            )
        )
        return {station_id: site_id for station_id, site_id in rows}

    async def _publish(self, events: list[Event], sites: dict[uuid.UUID, uuid.UUID | None]) -> None:
        await publish_all(
            self.bus,
            [
                replace(e, site_id=sites.get(e.station_id))
                if isinstance(e, SessionUpdated | SessionStopped)
                else e
                for e in events
            ],
        )
