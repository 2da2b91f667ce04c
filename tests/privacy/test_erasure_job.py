"""Automatic erasure after inactivity: one warning mail (real SMTP), then erasure, each once even
with several jobs (processes) running at the same moment; a login or a charge keeps the
account."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import AuditEntry, ChargingSession, SessionStatus, User
from backend.domain.mailer import Mailer
from backend.domain.privacy.erasure_job import ErasureJob, JobReport
from backend.settings import Settings
from tests.conftest import PASSWORD, Api, MailBox, free_port
from tests.live_server import LiveServer
from tests.privacy.helpers import RecordingGateway, build_everything

DAY = timedelta(days=1)


def job(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> ErasureJob:
    return ErasureJob(sessionmaker, settings, Mailer(settings), gateway=RecordingGateway())


async def set_user(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID, **values: Any
) -> None:
    async with sessionmaker() as db:
        await db.execute(update(User).where(User.id == user_id).values(**values))
        await db.commit()


async def run_together(jobs: list[ErasureJob], now: datetime) -> list[JobReport]:
    return list(await asyncio.gather(*(j.run_once(now) for j in jobs)))


def subject(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


async def test_warned_once_then_erased_once_by_concurrent_jobs(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    make_user: Any,
    mailbox: MailBox,
) -> None:
    assert (settings.erasure_inactive_days, settings.erasure_warning_days) == (183, 14)
    now = utcnow()
    everything = await build_everything(sessionmaker, make_user)  # sessions 40 and 3 days ago
    idle = everything.person
    # Signed up long ago, last logged in 175 days ago (its sessions are pushed back too).
    await set_user(sessionmaker, idle.id, created_at=now - 400 * DAY, last_login_at=now - 175 * DAY)
    async with sessionmaker() as db:
        for charge in await db.scalars(
            select(ChargingSession).where(ChargingSession.user_id == idle.id)
        ):
            charge.started_at -= 200 * DAY
            charge.stopped_at = charge.started_at + timedelta(hours=1)
        await db.commit()
    # Logged in 100 days ago: nothing yet.
    recent = await make_user()
    await set_user(
        sessionmaker, recent.id, created_at=now - 400 * DAY, last_login_at=now - 100 * DAY
    )
    # Never logged in for a year, but charges with a badge: still using the service.
    charger = await make_user()
    await set_user(sessionmaker, charger.id, created_at=now - 365 * DAY, last_login_at=None)
    async with sessionmaker() as db:
        db.add(
            ChargingSession(
                station_id=everything.station_id,
                user_id=charger.id,
                id_tag="CHARGER1",
                ocpp_transaction_id="charger-1",
                status=SessionStatus.COMPLETED,
                started_at=now - 20 * DAY,
                stopped_at=now - 20 * DAY + timedelta(hours=1),
            )
        )
        await db.commit()

    jobs = [job(sessionmaker, settings) for _ in range(4)]
    reports = await run_together(jobs, now)
    assert [u for r in reports for u in r.warned] == [idle.id]
    assert [u for r in reports for u in r.erased] == []
    [warning] = mailbox.to(idle.email)
    # In the person's language (French), with the date of erasure: 183 days after the last
    # login, i.e. in 8 days (at least the 14 days of notice: in 14 days).
    assert subject(warning) == (
        f"Votre compte VEV-IQ sera effacé le {(now + 14 * DAY).date().isoformat()}"
    )
    body = warning.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "http://testserver/login" in body and "Héloïse" in body

    # Again at once, and ten days later: no second warning, no erasure before the notice ran.
    for later in (now, now + 10 * DAY):
        reports = await run_together(jobs, later)
        assert [u for r in reports for u in r.warned + r.erased] == []
    assert len(mailbox.to(idle.email)) == 1

    # Fourteen days after the warning: erased, once, by one of the jobs.
    reports = await run_together(jobs, now + 14 * DAY + timedelta(minutes=1))
    assert [u for r in reports for u in r.erased] == [idle.id]
    async with sessionmaker() as db:
        erased = await db.get_one(User, idle.id)
        assert erased.erased_at is not None and erased.first_name == "Erased"
        audits = await db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "user.erased", AuditEntry.target_id == str(idle.id))
        )
        assert audits == 1
        for other in (recent, charger):
            kept = await db.get_one(User, other.id)
            assert kept.erased_at is None and kept.erasure_warning_sent_at is None
    assert [subject(m) for m in mailbox.to(idle.email)][1:] == [
        "Vos données personnelles VEV-IQ ont été effacées"
    ]
    assert all(j.erasure.gateway.deleted in ([], ["cus_ZXTEST417"]) for j in jobs)  # type: ignore[attr-defined]
    assert sum(len(j.erasure.gateway.deleted) for j in jobs) >= 1  # type: ignore[attr-defined]


async def test_logging_in_after_the_warning_keeps_the_account(
    api: Api,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    make_user: Any,
    mailbox: MailBox,
) -> None:
    now = utcnow()
    person = await make_user()
    await set_user(
        sessionmaker, person.id, created_at=now - 300 * DAY, last_login_at=now - 170 * DAY
    )
    erasure_job = job(sessionmaker, settings)
    assert (await erasure_job.run_once()).warned == [person.id]
    [warning] = mailbox.to(person.email)
    assert subject(warning) == (
        f"Your VEV-IQ account will be erased on {(now + 14 * DAY).date().isoformat()}"
    )

    # The person logs in (for real): the warning no longer counts.
    await api.ok(
        "mutation($e: String!, $p: String!) { logIn(input: {email: $e, password: $p}) { token } }",
        {"e": person.email, "p": PASSWORD},
    )
    report = await erasure_job.run_once(now + 30 * DAY)
    assert report.erased == [] and report.warned == []
    async with sessionmaker() as db:
        assert (await db.get_one(User, person.id)).erased_at is None

    # Inactive again for long enough: a new warning, then erasure after its notice.
    later = now + 170 * DAY
    assert (await erasure_job.run_once(later)).warned == [person.id]
    assert len(mailbox.to(person.email)) == 2
    assert (await erasure_job.run_once(later + 14 * DAY)).erased == [person.id]


async def test_a_warning_the_mail_server_refused_is_sent_again(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    make_user: Any,
    mailbox: MailBox,
) -> None:
    now = utcnow()
    person = await make_user()
    await set_user(sessionmaker, person.id, created_at=now - 300 * DAY, last_login_at=None)
    down = settings.model_copy(update={"smtp_port": free_port()})  # nobody listens there
    assert (await job(sessionmaker, down).run_once()).warned == []
    async with sessionmaker() as db:
        assert (await db.get_one(User, person.id)).erasure_warning_sent_at is None
    # Nor is anyone erased without a warning that reached them.
    assert (await job(sessionmaker, down).run_once(now + 60 * DAY)).erased == []

    assert (await job(sessionmaker, settings).run_once()).warned == [person.id]
    assert len(mailbox.to(person.email)) == 1


async def test_the_server_runs_the_job(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    make_user: Any,
    mailbox: MailBox,
) -> None:
    now = utcnow()
    warned = await make_user()
    await set_user(
        sessionmaker,
        warned.id,
        created_at=now - 300 * DAY,
        last_login_at=now - 200 * DAY,
        erasure_warning_sent_at=now - 15 * DAY,
    )
    idle = await make_user()
    await set_user(sessionmaker, idle.id, created_at=now - 300 * DAY, last_login_at=now - 175 * DAY)
    server = LiveServer(settings.model_copy(update={"erasure_check_interval_s": 0.2}))
    await asyncio.to_thread(server.start)
    try:
        for _ in range(100):
            async with sessionmaker() as db:
                done = (await db.get_one(User, warned.id)).erased_at is not None
                told = (await db.get_one(User, idle.id)).erasure_warning_sent_at is not None
            if done and told:
                break
            await asyncio.sleep(0.1)
    finally:
        await asyncio.to_thread(server.stop)
    assert done and told
    assert len(mailbox.to(idle.email)) == 1
