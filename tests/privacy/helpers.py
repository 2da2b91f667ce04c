"""A driver with everything a person can have in VEV-IQ, built with the ORM, and a payment
gateway standing in for the provider (a fake of an external service; our code runs for real).

Every personal value is distinctive (no site, station or tariff shares a word with them), so a
search of the whole database for them finds nothing but the person.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import (
    AuditEntry,
    BillingAccount,
    BillingState,
    ChargingSession,
    ChargingStation,
    Connector,
    EmailToken,
    EmailTokenPurpose,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    Language,
    MeterSample,
    Refund,
    RefundKind,
    RefundState,
    RegistrationStatus,
    RfidCard,
    SessionStatus,
    Site,
    SiteArea,
    SiteRole,
    SyncState,
    UnknownBadge,
    UserPicture,
    Vehicle,
)
from backend.domain.billing.gateway import LocalGateway, PaymentState
from backend.domain.tokens import new_token
from tests.conftest import Person

PROFILE: dict[str, Any] = {
    "first_name": "Héloïse",
    "last_name": "Zyxwarth",
    "phone": "+33 4 76 11 22 33",
    "mobile": "+33 6 98 76 54 32",
    "language": Language.FR,
    "address_street": "17 allée des Quokkas",
    "address_postal_code": "QK-4417",
    "address_city": "Quokkaville",
    "address_region": "Zyxshire",
    "address_country": "France",
    "professional_id": "EMP-ZX-4417",
    "cost_center": "CC-QUOKKA-9",
    "company": "Quokka Analytics",
    "department": "Marsupial Research",
}
EMAIL = "heloise.zyxwarth@example.org"
CARDS = (("ZXCARD0001", "Héloïse's work badge"), ("ZXCARD0002", None))
VEHICLES = (("QK-417-ZX", "WVWZZZ1KZAW417417"), ("ZX-999-QK", None))
# The name an earlier invoice was issued under, before a change of name.
OLD_NAME = "Heloise Zyxwarth-Oldname"
OLD_ADDRESS = "9 impasse du Wombat\nQK-1111 Wombatville"


def png(color: tuple[int, int, int] = (10, 200, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Everything:
    person: Person
    site_id: uuid.UUID
    other_site_id: uuid.UUID
    station_id: uuid.UUID
    other_station_id: uuid.UUID
    sessions: list[uuid.UUID]
    invoice_id: uuid.UUID
    picture: bytes
    started: list[datetime] = field(default_factory=list)

    @property
    def personal_values(self) -> list[str]:
        """What must not survive erasure anywhere (the country or language alone name nobody)."""
        values = [v for k, v in PROFILE.items() if k not in ("address_country", "language")]
        values += [EMAIL, f"{PROFILE['first_name']} {PROFILE['last_name']}", OLD_NAME]
        values += OLD_ADDRESS.split("\n")
        values += [uid for uid, _ in CARDS] + [d for _, d in CARDS if d]
        values += [plate for plate, _ in VEHICLES] + [vin for _, vin in VEHICLES if vin]
        return values


async def _site(db: AsyncSession, name: str, identity: str) -> tuple[uuid.UUID, uuid.UUID]:
    site = Site(name=name, timezone="Europe/Paris")
    db.add(site)
    await db.flush()
    area = SiteArea(site_id=site.id, name=f"{name} area", max_power_w=100_000)
    db.add(area)
    await db.flush()
    station = ChargingStation(
        ocpp_identity=identity,
        site_id=site.id,
        site_area_id=area.id,
        registration_status=RegistrationStatus.ACCEPTED,
    )
    db.add(station)
    await db.flush()
    db.add(Connector(station_id=station.id, evse_id=1, connector_id=1, status="Available"))
    await db.flush()
    return site.id, station.id


async def build_everything(
    sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> Everything:
    """The driver: full profile and picture, two cards, two vehicles, a site assignment, two
    finished sessions (with meter samples) and one invoice with a line and a refund, a payment
    method at "stripe", a login session, an email token, an unknown-badge record of one of
    their cards (seen before it was registered), and audit entries about them."""
    async with sessionmaker() as db:
        site_id, station_id = await _site(db, "Depot Nord", "DEPOT-N-1")
        other_site_id, other_station_id = await _site(db, "Depot Sud", "=DEPOT-S-1")
        await db.commit()
    person = await make_user(
        email=EMAIL,
        sites={site_id: SiteRole.MEMBER, other_site_id: SiteRole.MEMBER},
        **PROFILE,
    )
    picture = png()
    now = utcnow()
    started = [now - timedelta(days=40), now - timedelta(days=3)]
    async with sessionmaker() as db:
        db.add(UserPicture(user_id=person.id, content_type="image/png", data=picture))
        for uid, description in CARDS:
            db.add(RfidCard(uid=uid, user_id=person.id, description=description))
        for i, (plate, vin) in enumerate(VEHICLES):
            db.add(
                Vehicle(
                    user_id=person.id,
                    plate=plate,
                    vin=vin,
                    make="Renault",
                    model="Zoe",
                    battery_capacity_wh=52_000,
                    max_ac_power_w=22_000,
                    is_default=i == 0,
                )
            )
        db.add(
            UnknownBadge(uid=CARDS[1][0], station_id=station_id, first_seen_at=started[0], count=2)
        )
        _, token_hash = new_token()
        db.add(
            EmailToken(
                user_id=person.id,
                purpose=EmailTokenPurpose.RESET_PASSWORD,
                token_hash=token_hash,
                expires_at=now + timedelta(hours=1),
            )
        )
        db.add(
            BillingAccount(
                user_id=person.id,
                provider="stripe",
                customer_id="cus_ZXTEST417",
                customer_synced_hash="0" * 64,
                payment_method_id="pm_ZXTEST417",
                payment_method_brand="visa",
                payment_method_last4="4242",
                payment_method_exp_month=12,
                payment_method_exp_year=2030,
            )
        )
        # Two finished sessions: 10 kWh in 2 h at Depot Nord (samples at 7, 11 and 3 kW, cost
        # 3.00 + 0.60 VAT), 4 kWh in 1 h at Depot Sud, without tariff.
        connectors = {
            c.station_id: c.id
            for c in await db.scalars(
                select(Connector).where(Connector.station_id.in_([station_id, other_station_id]))
            )
        }
        first = ChargingSession(
            station_id=station_id,
            connector_id=connectors[station_id],
            user_id=person.id,
            id_tag=CARDS[0][0],
            ocpp_transaction_id="9001",
            status=SessionStatus.COMPLETED,
            started_at=started[1],
            stopped_at=started[1] + timedelta(hours=2),
            energy_wh=10_000,
            inactivity_s=600,
            stop_reason="EVDisconnected",
            cost_currency="EUR",
            cost_excl_vat_minor=300,
            cost_vat_minor=60,
            cost_incl_vat_minor=360,
            billing_state=BillingState.INVOICED,
        )
        second = ChargingSession(
            station_id=other_station_id,
            connector_id=connectors[other_station_id],
            user_id=person.id,
            id_tag=CARDS[1][0],
            ocpp_transaction_id="9002",
            status=SessionStatus.COMPLETED,
            started_at=started[0],
            stopped_at=started[0] + timedelta(hours=1),
            energy_wh=4_000,
            stop_reason="Local",
            billing_state=BillingState.NOT_BILLABLE,
            billing_note="no_tariff",
        )
        db.add_all([first, second])
        await db.flush()
        for minutes, power, energy in (
            (10, 7_000, 1_000),
            (60, 11_000, 6_000),
            (110, 3_000, 10_000),
        ):
            db.add(
                MeterSample(
                    session_id=first.id,
                    sampled_at=started[1] + timedelta(minutes=minutes),
                    power_w=power,
                    energy_wh=energy,
                    session_energy_wh=energy,
                )
            )
        invoice = Invoice(
            number="VEV-2026-004417",
            user_id=person.id,
            kind=InvoiceKind.SESSION,
            currency="EUR",
            subtotal_excl_vat_minor=300,
            vat_minor=60,
            total_incl_vat_minor=360,
            refunded_minor=120,
            payment_state=PaymentState.PAID,
            provider="stripe",
            external_id="in_ZXTEST417",
            hosted_url="https://invoice.stripe.example/i/ZXTEST417",
            sync_state=SyncState.SYNCED,
            issued_at=started[1] + timedelta(hours=3),
            paid_at=started[1] + timedelta(hours=4),
            emailed_at=started[1] + timedelta(hours=3),
            buyer_name=OLD_NAME,
            buyer_email=EMAIL,
            buyer_address=OLD_ADDRESS,
            buyer_language="fr",
            last_error=f"card of {EMAIL} declined once",
        )
        db.add(invoice)
        await db.flush()
        first.invoice_id = invoice.id
        db.add(
            InvoiceLine(
                invoice_id=invoice.id,
                session_id=first.id,
                site_id=site_id,
                position=1,
                dimension="ENERGY",
                description="Énergie 10 kWh",
                quantity="10",
                unit="kWh",
                unit_price="0.30",
                amount_excl_vat_minor=300,
                vat_percent="20",
                vat_minor=60,
                amount_incl_vat_minor=360,
            )
        )
        db.add(
            Refund(
                invoice_id=invoice.id,
                session_id=first.id,
                amount_minor=120,
                reason="Faulty connector, Héloïse Zyxwarth asked by phone (+33 6 98 76 54 32)",
                kind=RefundKind.REFUND,
                external_id="re_ZXTEST417",
                state=RefundState.DONE,
                done_at=started[1] + timedelta(days=1),
            )
        )
        # An older audit entry that carried personal values in its details (what scrubbing is
        # for), next to the usual ones (field names only).
        db.add(
            AuditEntry(
                actor_user_id=None,
                action="legacy.import",
                target_type="User",
                target_id=str(person.id),
                details={"note": f"imported {PROFILE['first_name']} <{EMAIL}>, badge ZXCARD0001"},
            )
        )
        db.add(
            AuditEntry(
                actor_user_id=person.id,
                action="user.update_profile",
                target_type="User",
                target_id=str(person.id),
                details={"fields": ["phone"]},
            )
        )
        await db.commit()
        sessions = [first.id, second.id]
        invoice_id = invoice.id
    return Everything(
        person=person,
        site_id=site_id,
        other_site_id=other_site_id,
        station_id=station_id,
        other_station_id=other_station_id,
        sessions=sessions,
        invoice_id=invoice_id,
        picture=picture,
        started=started,
    )


class RecordingGateway(LocalGateway):
    """Stands in for Stripe: remembers the customers it was asked to delete."""

    name = "stripe"

    def __init__(self) -> None:
        self.deleted: list[str] = []

    async def delete_customer(self, customer_id: str) -> None:
        self.deleted.append(customer_id)
