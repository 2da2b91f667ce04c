"""Retention: expired rows go, in batches; audit entries only when configured; two processes
purging at once delete each row once and fail nowhere."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, insert, select

from backend.db.base import utcnow
from backend.db.models import AuditEntry, LogCategory, LogLevel, SystemLogEntry
from backend.domain import system_logs
from backend.domain.system_logs import RetentionJob
from backend.settings import Settings
from tests.system_logs.helpers import rows


async def _fill(sessionmaker: Any, days_old: int, count: int, event: str) -> None:
    at = utcnow() - timedelta(days=days_old)
    async with sessionmaker() as db:
        await db.execute(
            insert(SystemLogEntry),
            [
                {
                    "at": at,
                    "level": LogLevel.WARNING,
                    "category": LogCategory.OCPP,
                    "event": event,
                    "message": "x",
                    "details": {},
                }
                for _ in range(count)
            ],
        )
        await db.execute(
            insert(AuditEntry),
            [{"at": at, "action": f"audit.{event}", "details": {}} for _ in range(count)],
        )
        await db.commit()


async def _count(sessionmaker: Any, model: Any, **where: Any) -> int:
    async with sessionmaker() as db:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(await db.scalar(stmt) or 0)


async def test_expired_rows_are_deleted_in_batches(
    sessionmaker: Any, settings: Settings, monkeypatch: Any
) -> None:
    monkeypatch.setattr(system_logs, "BATCH", 7)
    await _fill(sessionmaker, 91, 30, "old")
    await _fill(sessionmaker, 89, 5, "recent")
    job = RetentionJob(sessionmaker, settings.model_copy(update={"system_log_retention_days": 90}))
    report = await job.run_once()
    assert report.system_logs == 30
    assert report.audit_entries == 0  # audit entries are kept unless configured
    assert await _count(sessionmaker, SystemLogEntry, event="old") == 0
    assert await _count(sessionmaker, SystemLogEntry, event="recent") == 5
    assert await _count(sessionmaker, AuditEntry) == 35
    # The job says what it did, in the system logs themselves.
    [note] = await rows(sessionmaker, event="system.logs_expired")
    assert note.details["system_logs"] == 30 and note.category is LogCategory.SYSTEM
    # Nothing left to do: nothing deleted, nothing noted.
    assert (await job.run_once()).system_logs == 0
    assert await _count(sessionmaker, SystemLogEntry, event="system.logs_expired") == 1


async def test_audit_entries_expire_when_configured(sessionmaker: Any, settings: Settings) -> None:
    await _fill(sessionmaker, 400, 4, "ancient")
    await _fill(sessionmaker, 100, 3, "old")
    job = RetentionJob(
        sessionmaker,
        settings.model_copy(
            update={"system_log_retention_days": 30, "audit_log_retention_days": 365}
        ),
    )
    report = await job.run_once()
    assert (report.system_logs, report.audit_entries) == (7, 4)
    assert await _count(sessionmaker, AuditEntry, action="audit.ancient") == 0
    assert await _count(sessionmaker, AuditEntry, action="audit.old") == 3


async def test_two_processes_purging_at_once(
    sessionmaker: Any, settings: Settings, monkeypatch: Any
) -> None:
    monkeypatch.setattr(system_logs, "BATCH", 10)
    await _fill(sessionmaker, 200, 95, "old")
    await _fill(sessionmaker, 1, 3, "recent")
    jobs = [RetentionJob(sessionmaker, settings) for _ in range(2)]
    reports = await asyncio.gather(*(job.run_once() for job in jobs))
    assert sum(r.system_logs for r in reports) == 95
    assert await _count(sessionmaker, SystemLogEntry, event="old") == 0
    assert await _count(sessionmaker, SystemLogEntry, event="recent") == 3


async def test_the_job_runs_in_the_background_and_stops(
    sessionmaker: Any, settings: Settings
) -> None:
    await _fill(sessionmaker, 120, 2, "old")
    job = RetentionJob(sessionmaker, settings, interval_s=0.05)
    await job.start()
    for _ in range(100):
        if await _count(sessionmaker, SystemLogEntry, event="old") == 0:
            break
        await asyncio.sleep(0.05)
    await job.stop()
    assert await _count(sessionmaker, SystemLogEntry, event="old") == 0


def test_retention_settings_are_checked() -> None:
    assert Settings().system_log_retention_days == 90
    assert Settings().audit_log_retention_days == 0
    with pytest.raises(ValidationError):
        Settings(system_log_retention_days=0)
    with pytest.raises(ValidationError):
        Settings(audit_log_retention_days=-1)
