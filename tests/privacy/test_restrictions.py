"""Restriction and objection, set through GraphQL and honoured where each purpose runs:

- analytics, data-science exports, demand prediction: the one SQL filter
  (`restrictions.sessions_allowed` / `analytics_allowed`) their queries apply;
- smart-charging personalization: the planner's problem ignores the driver's vehicle;
- non-essential notifications: `notifications.notify` sends nothing (real SMTP), essential
  mails still go;
- withdrawn consent: out of every purpose above until consent is given again.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import (
    AuditEntry,
    ChargingSession,
    ChargingStation,
    Connector,
    ConsentRecord,
    MeterSample,
    Purpose,
    RegistrationStatus,
    Role,
    ServerProcess,
    SessionStatus,
    Site,
    SiteArea,
    StationConnection,
    Vehicle,
)
from backend.domain.load_management.problem import build
from backend.domain.mailer import Mailer
from backend.domain.privacy import notifications, restrictions
from backend.domain.privacy.notifications import NotificationKind
from backend.settings import Settings
from tests.conftest import Api, MailBox

PREFS = (
    "mutation($u: ID, $input: PrivacyPreferencesInput!) { setPrivacyPreferences(userId: $u, "
    "input: $input) { userId excludeFromAnalytics nonessentialNotifications objections } }"
)
OBJECT = (
    "mutation($p: ProcessingPurpose!, $o: Boolean!, $u: ID) { objectTo(purpose: $p, "
    "objected: $o, userId: $u) { objections } }"
)
PRIVACY = (
    "{ me { privacy { userId excludeFromAnalytics nonessentialNotifications objections "
    "erasureRequestedAt erasureWarningSentAt inactivityErasureDays "
    "consentHistory { policyVersion standing } "
    "exportUrls { personalData sessionsCsv } } } }"
)


async def _station(db: AsyncSession, *, online: bool = False) -> tuple[uuid.UUID, SiteArea]:
    site = Site(name="Restriction site")
    db.add(site)
    await db.flush()
    area = SiteArea(
        site_id=site.id, name="Area", max_power_w=100 * 690, voltage=230, smart_charging=True
    )
    db.add(area)
    await db.flush()
    station = ChargingStation(
        ocpp_identity=f"R-{uuid.uuid4().hex[:6]}",
        site_id=site.id,
        site_area_id=area.id,
        registration_status=RegistrationStatus.ACCEPTED,
        last_seen_at=utcnow(),
    )
    db.add(station)
    await db.flush()
    db.add(
        Connector(station_id=station.id, evse_id=1, connector_id=1, max_power_w=22_080, phases=3)
    )
    if online:
        process = f"restrictions-{uuid.uuid4().hex[:8]}"
        db.add(ServerProcess(id=process, host="test", pid=1, heartbeat_at=utcnow()))
        await db.flush()
        db.add(
            StationConnection(
                station_id=station.id,
                process_id=process,
                connection_id=uuid.uuid4(),
                connected_at=utcnow() - timedelta(hours=1),
            )
        )
    await db.flush()
    return station.id, area


async def test_purposes_leave_out_who_restricted_objected_or_withdrew_consent(
    api: Api, sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> None:
    people = {
        name: await make_user()
        for name in ("plain", "restricted", "no_demand", "no_ds", "withdrawn")
    }
    admin = await make_user(Role.ADMIN)
    # Each through the API: restricted by themself, the objections one by the person and one
    # by an admin on the person's request, the consent withdrawn by the person.
    data = await api.ok(
        PREFS, {"input": {"excludeFromAnalytics": True}}, token=people["restricted"].token
    )
    assert data["setPrivacyPreferences"]["excludeFromAnalytics"] is True
    data = await api.ok(
        OBJECT, {"p": "DEMAND_PREDICTION", "o": True}, token=people["no_demand"].token
    )
    assert data["objectTo"]["objections"] == ["DEMAND_PREDICTION"]
    data = await api.ok(
        OBJECT,
        {"p": "DATA_SCIENCE_EXPORT", "o": True, "u": str(people["no_ds"].id)},
        token=admin.token,
    )
    assert data["objectTo"]["objections"] == ["DATA_SCIENCE_EXPORT"]
    assert (await api.ok("mutation { withdrawConsent }", token=people["withdrawn"].token))[
        "withdrawConsent"
    ] == 1

    async with sessionmaker() as db:
        station_id, _ = await _station(db)
        sessions: dict[str, uuid.UUID] = {}
        for name, person in [*people.items(), ("nobody", None)]:
            charge = ChargingSession(
                station_id=station_id,
                user_id=person.id if person else None,
                ocpp_transaction_id=name,
                status=SessionStatus.COMPLETED,
                started_at=utcnow() - timedelta(hours=2),
                stopped_at=utcnow() - timedelta(hours=1),
                energy_wh=5_000,
            )
            db.add(charge)
            await db.flush()
            sessions[name] = charge.id
        await db.commit()

        async def allowed(purpose: Purpose) -> set[str]:
            ids = set(
                await db.scalars(
                    select(ChargingSession.id).where(restrictions.sessions_allowed(purpose))
                )
            )
            return {name for name, i in sessions.items() if i in ids}

        assert await allowed(Purpose.ANALYTICS) == {"plain", "no_demand", "no_ds", "nobody"}
        assert set(
            await db.scalars(
                select(ChargingSession.ocpp_transaction_id).where(restrictions.analytics_allowed())
            )
        ) == {"plain", "no_demand", "no_ds", "nobody"}
        assert await allowed(Purpose.DATA_SCIENCE_EXPORT) == {"plain", "no_demand", "nobody"}
        assert await allowed(Purpose.DEMAND_PREDICTION) == {"plain", "no_ds", "nobody"}
        assert await allowed(Purpose.SMART_CHARGING_PERSONALIZATION) == {
            "plain",
            "restricted",
            "no_demand",
            "no_ds",
            "nobody",
        }
        assert await restrictions.analytics_excluded_user_ids(db) == {
            people["restricted"].id,
            people["withdrawn"].id,
        }
        assert await restrictions.allows(db, people["plain"].id, Purpose.DEMAND_PREDICTION)
        assert not await restrictions.allows(db, people["no_demand"].id, Purpose.DEMAND_PREDICTION)

        # Consent given again (at the next login): processing resumes.
        db.add(ConsentRecord(user_id=people["withdrawn"].id, policy_version="2026-11"))
        await db.commit()
        assert "withdrawn" in await allowed(Purpose.ANALYTICS)

    # Withdrawing an objection and lifting the restriction bring them back.
    await api.ok(OBJECT, {"p": "DEMAND_PREDICTION", "o": False}, token=people["no_demand"].token)
    await api.ok(
        PREFS, {"input": {"excludeFromAnalytics": False}}, token=people["restricted"].token
    )
    async with sessionmaker() as db:
        assert await restrictions.excluded_user_ids(db, Purpose.DEMAND_PREDICTION) == set()


async def test_smart_charging_ignores_the_vehicle_of_who_objected(
    api: Api, sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> None:
    driver = await make_user()
    async with sessionmaker() as db:
        db.add(
            Vehicle(
                user_id=driver.id,
                plate="SC-1",
                battery_capacity_wh=60_000,
                max_ac_power_w=11_040,  # 16 A on three phases
                ac_phases=3,
                is_default=True,
            )
        )
        station_id, area = await _station(db, online=True)
        connector = await db.scalar(select(Connector).where(Connector.station_id == station_id))
        assert connector is not None
        charge = ChargingSession(
            station_id=station_id,
            connector_id=connector.id,
            user_id=driver.id,
            ocpp_transaction_id="1",
            started_at=utcnow() - timedelta(hours=1),
            energy_wh=5_000,
        )
        db.add(charge)
        await db.flush()
        db.add(
            MeterSample(
                session_id=charge.id, sampled_at=utcnow() - timedelta(minutes=1), power_w=7_000
            )
        )
        await db.commit()
        charge_id, area_id = str(charge.id), area.id

    async def planned() -> tuple[float, float]:
        async with sessionmaker() as db:
            unit = await db.get_one(SiteArea, area_id)
            built = await build(db, unit, utcnow())
        [session] = [s for s in built.problem.sessions if s.id == charge_id]
        return session.max_current, session.energy_wanted_wh

    # The car: 16 A at most, its 60 kWh battery less the 5 kWh delivered.
    assert await planned() == (pytest.approx(16.0), pytest.approx(55_000))
    await api.ok(OBJECT, {"p": "SMART_CHARGING_PERSONALIZATION", "o": True}, token=driver.token)
    # Planned like an unknown car: the connector's 32 A, the default 30 kWh.
    assert await planned() == (pytest.approx(32.0), pytest.approx(25_000))


async def test_nonessential_mails_stop_essential_ones_go(
    api: Api,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    make_user: Any,
    mailbox: MailBox,
) -> None:
    wants = await make_user()
    opted_out = await make_user()
    withdrawn = await make_user()
    await api.ok(PREFS, {"input": {"nonessentialNotifications": False}}, token=opted_out.token)
    await api.ok("mutation { withdrawConsent }", token=withdrawn.token)
    mailer = Mailer(settings)
    async with sessionmaker() as db:
        for person in (wants, opted_out, withdrawn):
            for kind in (NotificationKind.SESSION_ENDED, NotificationKind.INVOICE):
                mail = notifications.Mail(to=person.email, subject=kind.value, body="…")
                await notifications.notify(db, mailer, person.id, kind, mail)
    assert [m["Subject"] for m in mailbox.to(wants.email)] == ["session_ended", "invoice"]
    assert [m["Subject"] for m in mailbox.to(opted_out.email)] == ["invoice"]
    assert [m["Subject"] for m in mailbox.to(withdrawn.email)] == ["invoice"]
    assert notifications.is_essential(NotificationKind.ERASURE_WARNING)
    assert not notifications.is_essential(NotificationKind.CAR_IDLE)


async def test_privacy_state_in_the_api(
    api: Api, sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> None:
    person = await make_user()
    admin = await make_user(Role.ADMIN)
    dpo = await make_user(Role.DPO)
    demo = await make_user(Role.DEMO)
    other = await make_user()
    data = await api.ok(PRIVACY, token=person.token)
    assert data["me"]["privacy"] == {
        "userId": str(person.id),
        "excludeFromAnalytics": False,
        "nonessentialNotifications": True,
        "objections": [],
        "erasureRequestedAt": None,
        "erasureWarningSentAt": None,
        "inactivityErasureDays": 183,
        "consentHistory": [{"policyVersion": "2026-11", "standing": True}],
        "exportUrls": {
            "personalData": "/export/my-data.json",
            "sessionsCsv": "/export/my-sessions.csv",
        },
    }
    # The whole list at once, validated, in a stable order.
    data = await api.ok(
        PREFS,
        {"input": {"objections": ["DEMAND_PREDICTION", "ANALYTICS", "ANALYTICS"]}},
        token=person.token,
    )
    assert data["setPrivacyPreferences"]["objections"] == ["ANALYTICS", "DEMAND_PREDICTION"]
    bad = await api(PREFS, {"input": {"objections": ["MARKETING"]}}, token=person.token)
    assert bad["errors"]

    # Admins and the DPO read anyone's, with download links naming the person; nobody else.
    query = "query($u: ID!) { userPrivacy(userId: $u) { objections exportUrls { personalData } } }"
    for reader in (admin, dpo):
        data = await api.ok(query, {"u": str(person.id)}, token=reader.token)
        assert data["userPrivacy"] == {
            "objections": ["ANALYTICS", "DEMAND_PREDICTION"],
            "exportUrls": {"personalData": f"/export/my-data.json?userId={person.id}"},
        }
    for reader in (other, demo):
        error = await api.error(query, {"u": str(person.id)}, token=reader.token)
        assert error["code"] == "FORBIDDEN"
    # A demo user sees that a person exists, not their choices.
    data = await api.ok(
        "query($u: ID!) { user(id: $u) { privacy { objections } } }",
        {"u": str(person.id)},
        token=demo.token,
    )
    assert data["user"] == {"privacy": None}
    # The DPO changes them on the person's request; a plain user may not.
    await api.ok(PREFS, {"u": str(person.id), "input": {"objections": []}}, token=dpo.token)
    error = await api.error(
        PREFS, {"u": str(person.id), "input": {"objections": []}}, token=other.token
    )
    assert error["code"] == "FORBIDDEN"

    # Every change is audited by field name, by whoever made it.
    async with sessionmaker() as db:
        entries = list(
            await db.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "user.privacy_preferences")
                .order_by(AuditEntry.id)
            )
        )
    assert [(e.actor_user_id, e.details) for e in entries] == [
        (person.id, {"fields": ["objections"]}),
        (dpo.id, {"fields": ["objections"]}),
    ]
