"""Erasure: nothing personal survives (every table and column searched), on request with
someone else's confirmation, and what waits (running session, the last administrator)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from email.header import decode_header, make_header
from typing import Any

import pytest
from sqlalchemy import MetaData, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import (
    AuditEntry,
    ChargingSession,
    Invoice,
    Refund,
    RfidCard,
    Role,
    SessionStatus,
    UnknownBadge,
    User,
    UserStatus,
    Vehicle,
)
from backend.domain.mailer import Mailer
from backend.domain.privacy.erasure import Erasure, ErasureBlocked, erased_pseudonym
from backend.settings import Settings
from tests.conftest import PASSWORD, Api, MailBox
from tests.privacy.helpers import EMAIL, RecordingGateway, build_everything


def _texts(value: Any) -> list[str]:
    """Every way a stored value can be read as text."""
    if isinstance(value, str):
        texts = [value]
        try:
            decoded = json.loads(value)
        except ValueError:
            return texts
        return [*texts, json.dumps(decoded, ensure_ascii=False)]
    if isinstance(value, dict | list):
        return [json.dumps(value, ensure_ascii=False)]
    if isinstance(value, bytes):
        return [value.decode("utf-8", errors="ignore")]
    return []


async def search_everywhere(engine: AsyncEngine, needles: list[str], blob: bytes) -> list[str]:
    """Every table of the database (reflected, not taken from our models) and every column of
    every row: where one of `needles` (case-insensitive) or the bytes `blob` appear."""

    def run(conn: Any) -> list[str]:
        metadata = MetaData()
        metadata.reflect(conn)
        hits = []
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if isinstance(value, bytes) and blob in value:
                        hits.append(f"{table.name}.{column}: the picture")
                    for text in _texts(value):
                        for needle in needles:
                            if needle.lower() in text.lower():
                                hits.append(f"{table.name}.{column}: {needle!r}")
        return sorted(set(hits))

    async with engine.connect() as conn:
        return await conn.run_sync(run)


async def test_nothing_personal_survives_erasure(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    make_user: Any,
    mailbox: MailBox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    everything = await build_everything(sessionmaker, make_user)
    values = everything.personal_values
    assert len(values) >= 20
    # The search works: before erasure, every value is found somewhere (and the picture).
    before = await search_everywhere(engine, values, everything.picture)
    found = {hit.split(": ", 1)[1] for hit in before}
    assert found == {repr(v) for v in values} | {"the picture"}

    gateway = RecordingGateway()
    erasure = Erasure(sessionmaker, settings, Mailer(settings), gateway)
    user_id = everything.person.id
    with caplog.at_level(logging.DEBUG):
        result = await erasure.erase(user_id, actor_id=None, reason="request")
    assert result is not None

    assert await search_everywhere(engine, values, everything.picture) == []
    # Nor in what the application logged while erasing.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("vev_iq"))
    assert [v for v in values if v.lower() in logged.lower()] == []

    pseudonym = erased_pseudonym(settings.resolved_secret_key(), user_id)
    assert result.pseudonym == pseudonym
    assert (result.sessions, result.invoices, result.provider_customer) == (2, 1, "deleted")
    assert gateway.deleted == ["cus_ZXTEST417"]
    async with sessionmaker() as db:
        user = await db.get_one(User, user_id)
        assert (user.first_name, user.last_name) == ("Erased", pseudonym)
        assert user.email == f"{pseudonym.lower()}@erased.invalid"
        assert user.status is UserStatus.INACTIVE and user.password_hash is None
        assert user.erased_at is not None and user.pseudonym == pseudonym
        # Sessions and invoices stay for accounting, with the pseudonym.
        sessions = list(
            await db.scalars(select(ChargingSession).where(ChargingSession.user_id == user_id))
        )
        assert sorted(s.energy_wh for s in sessions) == [4_000, 10_000]
        assert {s.id_tag for s in sessions} == {pseudonym}
        invoice = await db.get_one(Invoice, everything.invoice_id)
        assert (invoice.number, invoice.total_incl_vat_minor, invoice.refunded_minor) == (
            "VEV-2026-004417",
            360,
            120,
        )
        assert (invoice.buyer_name, invoice.buyer_email, invoice.buyer_address) == (
            pseudonym,
            None,
            None,
        )
        refund = await db.scalar(select(Refund).where(Refund.invoice_id == invoice.id))
        assert refund is not None and refund.amount_minor == 120
        assert refund.reason.startswith(f"Faulty connector, {pseudonym} asked by phone")
        for model in (RfidCard, Vehicle):
            assert await db.scalar(select(func.count()).select_from(model)) == 0
        assert await db.scalar(select(func.count()).select_from(UnknownBadge)) == 0
        erased = await db.scalar(select(AuditEntry).where(AuditEntry.action == "user.erased"))
        assert erased is not None and erased.details == {"reason": "request"}
    # The farewell goes to the address being forgotten, in the person's language, and says
    # nothing else about them.
    [farewell] = mailbox.to(EMAIL)
    subject = str(make_header(decode_header(farewell["Subject"])))
    assert subject == "Vos données personnelles VEV-IQ ont été effacées"
    body = farewell.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "Zyxwarth" not in body and "Comme vous l'avez demandé" in body

    # Once only: a second erasure finds nobody left to erase.
    assert await erasure.erase(user_id, actor_id=None, reason="request") is None


# --- on request --------------------------------------------------------------------------------

REQUEST = "mutation($u: ID) { requestErasure(userId: $u) { erasureRequestedAt } }"
CONFIRM = (
    "mutation($u: ID!) { confirmErasure(userId: $u) { userId pseudonym sessionsKept "
    "invoicesKept providerCustomer } }"
)
LIST = "{ erasureRequests { userId firstName lastName email requestedAt blockedReason } }"


async def test_erasure_on_request_confirmed_by_someone_else(
    api: Api, make_user: Any, sessionmaker: async_sessionmaker[AsyncSession], mailbox: MailBox
) -> None:
    driver = await make_user(first_name="Noor", last_name="Quenby")
    dpo = await make_user(Role.DPO)
    admin = await make_user(Role.ADMIN)
    other = await make_user()

    data = await api.ok(REQUEST, token=driver.token)
    assert data["requestErasure"]["erasureRequestedAt"] is not None
    me = await api.ok("{ me { privacy { erasureRequestedAt } } }", token=driver.token)
    assert me["me"]["privacy"]["erasureRequestedAt"] is not None

    # Nobody confirms their own erasure; a plain user confirms nobody's nor lists requests.
    error = await api.error(CONFIRM, {"u": str(driver.id)}, token=driver.token)
    assert error["code"] == "FORBIDDEN"
    assert (await api.error(LIST, token=other.token))["code"] == "FORBIDDEN"
    assert (await api.error(CONFIRM, {"u": str(driver.id)}, token=other.token))[
        "code"
    ] == "FORBIDDEN"

    requests = (await api.ok(LIST, token=dpo.token))["erasureRequests"]
    assert [(r["userId"], r["firstName"], r["lastName"], r["email"]) for r in requests] == [
        (str(driver.id), "Noor", "Quenby", driver.email)
    ]
    assert requests[0]["blockedReason"] is None

    result = (await api.ok(CONFIRM, {"u": str(driver.id)}, token=dpo.token))["confirmErasure"]
    assert result["userId"] == str(driver.id)
    assert result["pseudonym"].startswith("ERASED-")
    assert (result["sessionsKept"], result["invoicesKept"], result["providerCustomer"]) == (
        0,
        0,
        "none",
    )
    # Gone: the old token, the login, the request list; a farewell mail was sent.
    assert (await api.ok("{ me { id } }", token=driver.token))["me"] is None
    login = await api.error(
        "mutation($e: String!, $p: String!) { logIn(input: {email: $e, password: $p}) { token } }",
        {"e": driver.email, "p": PASSWORD},
    )
    assert login["code"] == "INVALID_CREDENTIALS"
    assert (await api.ok(LIST, token=admin.token))["erasureRequests"] == []
    assert len(mailbox.to(driver.email)) == 1
    # Confirming again, or giving the pseudonym personal data again: nobody by that id.
    again = await api.error(CONFIRM, {"u": str(driver.id)}, token=admin.token)
    assert again["code"] == "NOT_FOUND"
    revive = await api.error(
        'mutation($u: ID!) { updateUser(id: $u, input: {status: ACTIVE, email: "x@example.com"})'
        " { id } }",
        {"u": str(driver.id)},
        token=admin.token,
    )
    assert revive["code"] == "NOT_FOUND"
    card = await api.error(
        'mutation($u: ID) { addRfidCard(input: {uid: "REVIVE1", userId: $u}) { id } }',
        {"u": str(driver.id)},
        token=admin.token,
    )
    assert card["code"] == "NOT_FOUND"


async def test_admin_records_a_request_and_an_admin_cannot_erase_themself(
    api: Api, make_user: Any
) -> None:
    driver = await make_user()
    admin = await make_user(Role.ADMIN)
    second_admin = await make_user(Role.ADMIN)
    # A request made by mail to the DPO: an admin records it for the person.
    await api.ok(REQUEST, {"u": str(driver.id)}, token=admin.token)
    # Users may only ask for themselves.
    other = await make_user()
    assert (await api.error(REQUEST, {"u": str(driver.id)}, token=other.token))[
        "code"
    ] == "FORBIDDEN"
    await api.ok(CONFIRM, {"u": str(driver.id)}, token=second_admin.token)

    # An administrator asks for their own erasure: another one must confirm it.
    await api.ok(REQUEST, token=admin.token)
    own = await api.error(CONFIRM, {"u": str(admin.id)}, token=admin.token)
    assert own["code"] == "FORBIDDEN"
    await api.ok(CONFIRM, {"u": str(admin.id)}, token=second_admin.token)


async def test_a_cancelled_request_is_not_confirmed(api: Api, make_user: Any) -> None:
    driver = await make_user()
    admin = await make_user(Role.ADMIN)
    await api.ok(REQUEST, token=driver.token)
    data = await api.ok(
        "mutation { cancelErasureRequest { erasureRequestedAt } }", token=driver.token
    )
    assert data["cancelErasureRequest"]["erasureRequestedAt"] is None
    assert (await api.ok(LIST, token=admin.token))["erasureRequests"] == []
    error = await api.error(CONFIRM, {"u": str(driver.id)}, token=admin.token)
    assert error["code"] == "CONFLICT"


async def test_erasure_waits_for_a_running_session_and_keeps_the_last_admin(
    api: Api,
    make_user: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    everything = await build_everything(sessionmaker, make_user)
    driver = everything.person
    admin = await make_user(Role.ADMIN)
    async with sessionmaker() as db:
        db.add(
            ChargingSession(
                station_id=everything.station_id,
                user_id=driver.id,
                id_tag="ZXCARD0001",
                ocpp_transaction_id="running",
                status=SessionStatus.ACTIVE,
                started_at=utcnow() - timedelta(minutes=5),
            )
        )
        await db.commit()
    await api.ok(REQUEST, token=driver.token)
    [request] = (await api.ok(LIST, token=admin.token))["erasureRequests"]
    assert "running" in request["blockedReason"]
    error = await api.error(CONFIRM, {"u": str(driver.id)}, token=admin.token)
    assert error["code"] == "ERASURE_BLOCKED"
    async with sessionmaker() as db:
        user = await db.get_one(User, driver.id)
        assert user.erased_at is None and user.email == EMAIL

    # The only active administrator is never erased (the deployment would have nobody left).
    erasure = Erasure(sessionmaker, settings, Mailer(settings), RecordingGateway())
    async with sessionmaker() as db:
        await db.execute(
            User.__table__.update().where(User.id != admin.id).values(role=Role.BASIC)  # type: ignore[attr-defined]
        )
        await db.commit()
    with pytest.raises(ErasureBlocked, match="last active administrator"):
        await erasure.erase(admin.id, actor_id=None, reason="inactivity")
