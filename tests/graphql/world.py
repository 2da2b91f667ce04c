"""A small world for permission tests: two sites, their stations, and one person per role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import (
    BillingState,
    ChargingSession,
    ChargingStation,
    Connector,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    RegistrationStatus,
    RfidCard,
    Role,
    SessionStatus,
    Site,
    SiteArea,
    SiteRole,
    Tariff,
    TariffScope,
    Vehicle,
)
from tests.conftest import Person

ROLES = ("anonymous", "basic", "other", "demo", "site_admin", "admin")


@dataclass
class World:
    site_a: uuid.UUID
    site_b: uuid.UUID
    area_a: uuid.UUID
    area_b: uuid.UUID
    station_a: uuid.UUID
    station_b: uuid.UUID
    target: Person  # a driver of site A with every personal field filled
    card: uuid.UUID
    vehicle: uuid.UUID
    session: uuid.UUID  # the target's charging session at station A
    people: dict[str, Person | None]
    tariff_org: uuid.UUID | None = None  # the organization's tariff: every signed-in user
    tariff_b: uuid.UUID | None = None  # site B's tariff: its members, admins, demo
    # The target's invoiced (completed) session at station A, and its invoice.
    billed_session: uuid.UUID | None = None
    invoice: uuid.UUID | None = None
    connectors: tuple[uuid.UUID, ...] = ()  # station A's, station B's

    def token(self, role: str) -> str | None:
        person = self.people[role]
        return person.token if person else None


TARGET_FIELDS: dict[str, Any] = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "phone": "+33 1 23 45 67 89",
    "mobile": "+33 6 12 34 56 78",
    "address_street": "1 rue de la Paix",
    "address_postal_code": "75002",
    "address_city": "Paris",
    "address_country": "France",
    "professional_id": "EMP-0042",
    "cost_center": "CC-77",
    "company": "Navy Labs",
    "department": "Compilers",
    "picture_sha256": "ab" * 32,
}


async def build_world(sessionmaker: async_sessionmaker[AsyncSession], make_user: Any) -> World:
    async with sessionmaker() as session:
        site_a, site_b = Site(name="Site A"), Site(name="Site B")
        session.add_all([site_a, site_b])
        await session.flush()
        area_a = SiteArea(site_id=site_a.id, name="Area A", max_power_w=50_000)
        area_b = SiteArea(site_id=site_b.id, name="Area B", max_power_w=50_000)
        session.add_all([area_a, area_b])
        await session.flush()
        stations = []
        connector_ids: list[uuid.UUID] = []
        for area, name in ((area_a, "CS-A"), (area_b, "CS-B")):
            station = ChargingStation(
                ocpp_identity=name,
                site_area_id=area.id,
                site_id=area.site_id,
                registration_status=RegistrationStatus.ACCEPTED,
                serial_number=f"SN-{name}",
            )
            session.add(station)
            await session.flush()
            connector = Connector(station_id=station.id, status="Available")
            session.add(connector)
            await session.flush()
            connector_ids.append(connector.id)
            stations.append(station)
        await session.commit()
        ids = (site_a.id, site_b.id, area_a.id, area_b.id, stations[0].id, stations[1].id)

    target = await make_user(sites={ids[0]: SiteRole.MEMBER}, **TARGET_FIELDS)
    people: dict[str, Person | None] = {
        "anonymous": None,
        "basic": await make_user(sites={ids[0]: SiteRole.MEMBER}),
        "other": await make_user(sites={ids[1]: SiteRole.MEMBER}),
        "demo": await make_user(Role.DEMO),
        "site_admin": await make_user(sites={ids[0]: SiteRole.SITE_ADMIN}),
        "admin": await make_user(Role.ADMIN),
    }
    async with sessionmaker() as session:
        card = RfidCard(uid="TARGETCARD01", user_id=target.id, description="Grace's badge")
        vehicle = Vehicle(
            user_id=target.id, plate="AB-123-CD", vin="VF1AG000164123456", is_default=True
        )
        charge = ChargingSession(
            station_id=ids[4],
            user_id=target.id,
            id_tag="TARGETCARD01",
            ocpp_transaction_id="42",
            started_at=utcnow(),
            energy_wh=1234,
            stop_reason="Local",
        )
        elements = [{"price_components": [{"type": "ENERGY", "price": "0.30", "step_size": 1}]}]
        org = Tariff(
            name="Org",
            currency="EUR",
            vat_percent="20",
            elements=elements,
            scope=TariffScope.ORGANIZATION,
        )
        tariff_b = Tariff(
            name="B",
            currency="EUR",
            vat_percent="20",
            elements=elements,
            scope=TariffScope.SITE,
            target_id=ids[1],
            site_id=ids[1],
        )
        session.add_all([card, vehicle, charge, org, tariff_b])
        await session.commit()
        card_id, vehicle_id, session_id = card.id, vehicle.id, charge.id
        tariff_ids = (org.id, tariff_b.id)
    billed, invoice = await _billed_session(sessionmaker, target, ids[4], ids[0])
    return World(
        *ids,
        target=target,
        card=card_id,
        vehicle=vehicle_id,
        session=session_id,
        people=people,
        tariff_org=tariff_ids[0],
        tariff_b=tariff_ids[1],
        billed_session=billed,
        invoice=invoice,
        connectors=tuple(connector_ids),
    )


async def _billed_session(
    sessionmaker: async_sessionmaker[AsyncSession],
    target: Person,
    station_id: uuid.UUID,
    site_id: uuid.UUID,
) -> tuple[uuid.UUID, uuid.UUID]:
    """A completed session of the target at station A with its invoice (2.40 EUR)."""
    async with sessionmaker() as session:
        ended = utcnow()
        charge = ChargingSession(
            station_id=station_id,
            user_id=target.id,
            id_tag="TARGETCARD01",
            ocpp_transaction_id="41",
            status=SessionStatus.COMPLETED,
            started_at=ended - timedelta(hours=1),
            stopped_at=ended,
            energy_wh=8000,
            cost_currency="EUR",
            cost_excl_vat_minor=200,
            cost_vat_minor=40,
            cost_incl_vat_minor=240,
            billing_state=BillingState.INVOICED,
        )
        invoice = Invoice(
            number=f"TEST-{uuid.uuid4().hex[:8]}",
            user_id=target.id,
            kind=InvoiceKind.SESSION,
            currency="EUR",
            subtotal_excl_vat_minor=200,
            vat_minor=40,
            total_incl_vat_minor=240,
            provider="local",
            issued_at=ended,
            buyer_name="Grace Hopper",
            buyer_email=target.email,
            buyer_address="1 rue de la Paix\n75002 Paris",
        )
        session.add_all([charge, invoice])
        await session.flush()
        charge.invoice_id = invoice.id
        session.add(
            InvoiceLine(
                invoice_id=invoice.id,
                session_id=charge.id,
                site_id=site_id,
                position=1,
                dimension="ENERGY",
                description="Energy 8 kWh",
                quantity="8",
                unit="kWh",
                unit_price="0.25",
                amount_excl_vat_minor=200,
                vat_percent="20",
                vat_minor=40,
                amount_incl_vat_minor=240,
            )
        )
        await session.commit()
        return charge.id, invoice.id
