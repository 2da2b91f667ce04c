"""System logs: writing them safely, reading them (admins), and deleting them when they expire.

**What is written.** OCPP errors (malformed frames, schema violations, unknown actions,
CALLERRORs a station sends back, refused connections and boots), security events (failed
logins, lockouts, password resets, consent withdrawals, erasures) and the jobs' own events.
A row says what happened with a fixed sentence and an event code; it names stations and people
by id, never by email or name, and its details go through `sanitize`: keys that may hold a
secret or a badge number (password, token, secret, authorization, cookie, id_tag, uid...) are
dropped, email addresses in text are masked, long strings cut. Raw OCPP frames are never kept
(they carry badge numbers).

**Two ways in.**
- `record(session, ...)`: in the caller's transaction (security events: the row commits or
  rolls back with what it describes).
- `SystemLogWriter.emit(...)`: for the OCPP path, which must never wait for, nor fail because
  of, its logs. `emit` is synchronous and cannot raise: it queues the row (a bounded queue:
  beyond `max_queue` rows are dropped and counted) and one task per process writes what is
  queued in one transaction, like the meter values' batcher. A failed batch is retried row by
  row once, then dropped with a line in the Python log. A station repeating the same error is
  throttled: at most `per_minute` rows per station and event code per minute, the next row
  after a burst carrying how many were left out (`suppressed`).

**Admin actions.** The audit log (`backend.domain.audit`) already records who changed what;
it is not copied. The admin view (`SystemLogs.page`) merges it in as the category "admin",
except the actions that also have a security event here (they would show twice).

**Retention.** `RetentionJob` (one per server process) deletes system logs older than
`system_log_retention_days` and, when `audit_log_retention_days` is set (0, the default, keeps
the audit log: it is the operator's proof of who changed what), audit entries older than that,
in batches of `BATCH` rows per short transaction, so that a big backlog never holds a long
lock. Several processes may run it at once: deleting rows that another process deleted
meanwhile deletes nothing, so no coordination is needed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import re
import time
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.like import escape_like
from backend.db.models import (
    AuditEntry,
    ChargingStation,
    LogCategory,
    LogLevel,
    SystemLogEntry,
)
from backend.domain.access import require_admin
from backend.domain.errors import InvalidInput
from backend.domain.viewer import Viewer
from backend.settings import Settings

log = logging.getLogger("vev_iq.system_logs")

# --- sanitising ---------------------------------------------------------------------------------

MAX_TEXT = 200
MAX_ITEMS = 20
MAX_DEPTH = 4
# Keys whose values never enter a log, compared without case, "_" or "-" ("idTag", "id_tag").
_SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "pwd",
    "token",
    "secret",
    "authorization",
    "auth",
    "cookie",
    "apikey",
    "credential",
    "idtag",
    "uid",
    "email",
    "phone",
    "iban",
    "card",
)
_EMAIL = re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+\.[A-Za-z]{2,}")
EMAIL_MASK = "[email]"


def secret_key(key: str) -> bool:
    """Might a value under this key be a secret or personal (a password, a badge number...)?"""
    flat = key.lower().replace("_", "").replace("-", "")
    return any(part in flat for part in _SECRET_KEY_PARTS)


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """Text fit for a log: email addresses masked, control characters gone, at most `limit`."""
    value = _EMAIL.sub(EMAIL_MASK, value)
    value = "".join(c if c.isprintable() else " " for c in value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def sanitize(value: Any, depth: int = 0) -> Any:
    """A JSON value fit for a log: secret keys dropped, text cleaned, lists and depth bounded.
    Anything else (dates, ids, objects) becomes its cleaned text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return clean_text(value)
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in list(value.items())[: MAX_ITEMS * 2]:
            name = clean_text(str(key), 64)
            if secret_key(name):
                continue
            out[name] = sanitize(item, depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [sanitize(item, depth + 1) for item in list(value)[:MAX_ITEMS]]
    return clean_text(str(value))


def sanitize_details(details: dict[str, Any] | None) -> dict[str, Any]:
    cleaned = sanitize(details or {})
    return cleaned if isinstance(cleaned, dict) else {}


def _row(
    level: LogLevel,
    category: LogCategory,
    event: str,
    message: str,
    *,
    station_id: uuid.UUID | None = None,
    ocpp_identity: str | None = None,
    user_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "at": at or utcnow(),
        "level": level,
        "category": category,
        "event": event[:64],
        "station_id": station_id,
        "ocpp_identity": clean_text(ocpp_identity, 48) if ocpp_identity else None,
        "user_id": user_id,
        "message": clean_text(message),
        "details": sanitize_details(details),
    }


def record(
    session: AsyncSession,
    level: LogLevel,
    category: LogCategory,
    event: str,
    message: str,
    *,
    station_id: uuid.UUID | None = None,
    ocpp_identity: str | None = None,
    user_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add a log row to the caller's transaction."""
    session.add(
        SystemLogEntry(
            **_row(
                level,
                category,
                event,
                message,
                station_id=station_id,
                ocpp_identity=ocpp_identity,
                user_id=user_id,
                details=details,
            )
        )
    )


# --- the buffered writer ------------------------------------------------------------------------


class SystemLogWriter:
    """Rows from hot paths, queued and written in batches (see the module's docstring)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        max_queue: int = 10_000,
        max_batch: int = 500,
        linger_s: float = 0.05,
        per_minute: int = 30,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.max_queue = max_queue
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.per_minute = per_minute
        self._queue: deque[dict[str, Any]] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        # Throttling: (station, event) -> [minute, rows written this minute, rows left out].
        self._recent: dict[tuple[str, str], list[int]] = {}
        # For the curious (and the tests).
        self.written = 0
        self.dropped = 0  # queue full, or a row that could not be written
        self.suppressed = 0  # throttled repeats

    def emit(
        self,
        level: LogLevel,
        category: LogCategory,
        event: str,
        message: str,
        *,
        station_id: uuid.UUID | None = None,
        ocpp_identity: str | None = None,
        user_id: uuid.UUID | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Queue a row; never blocks, never raises."""
        try:
            if self._closed or len(self._queue) >= self.max_queue:
                self.dropped += 1
                return
            extra = self._throttle(ocpp_identity or str(station_id or ""), event)
            if extra is None:
                return
            if extra:
                details = {**(details or {}), "suppressed": extra}
            self._queue.append(
                _row(
                    level,
                    category,
                    event,
                    message,
                    station_id=station_id,
                    ocpp_identity=ocpp_identity,
                    user_id=user_id,
                    details=details,
                )
            )
            self._kick()
        except Exception:  # a log must never break what it describes
            self.dropped += 1
            log.exception("could not queue a system log row")

    def _throttle(self, source: str, event: str) -> int | None:
        """None: leave this row out; otherwise how many repeats were left out before it."""
        minute = int(time.monotonic() // 60)
        key = (source, event)
        state = self._recent.get(key)
        if state is None or state[0] != minute:
            left_out = state[2] if state is not None else 0
            if len(self._recent) > 10_000:
                self._recent.clear()
            self._recent[key] = [minute, 1, 0]
            return left_out
        if state[1] >= self.per_minute:
            state[2] += 1
            self.suppressed += 1
            return None
        state[1] += 1
        return 0

    def _kick(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous caller): flushed by the next emit or by close()
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="vev-iq-system-logs")
        self._wake.set()

    async def flush(self) -> None:
        """Write everything queued now."""
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            await self._write(batch)

    async def close(self) -> None:
        """Write what is queued, then stop."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            if self.linger_s and len(self._queue) < self.max_batch:
                await asyncio.sleep(self.linger_s)
            batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                self._queue.extendleft(reversed(batch))  # close() writes them
                raise

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        try:
            async with self.sessionmaker() as session:
                await session.execute(insert(SystemLogEntry), batch)
                await session.commit()
            self.written += len(batch)
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if len(batch) == 1:
                self.dropped += 1
                log.warning("a system log row could not be written: %s", type(error).__name__)
                return
            log.warning(
                "a batch of %d system log rows failed (%s): one by one",
                len(batch),
                type(error).__name__,
            )
        for row in batch:
            await self._write([row])


# --- reading (admins) ---------------------------------------------------------------------------

# Audit actions that also write a security event: the admin view shows the event only.
MIRRORED_AUDIT_ACTIONS = frozenset(
    {
        "user.login_failed",
        "user.locked",
        "user.password_reset_requested",
        "user.password_reset",
        "user.password_changed",
        "user.consent_withdrawn",
        "user.erased",
        "station.security_event",
    }
)
_STATION_TARGET = "ChargingStation"
# Sources in the order of the list at equal times: system logs before audit entries.
_LOG, _AUDIT = "log", "audit"
_RANK = {_AUDIT: 0, _LOG: 1}
MAX_PAGE = 100


@dataclass(frozen=True)
class LogFilter:
    from_: datetime | None = None
    to: datetime | None = None
    level: LogLevel | None = None
    category: LogCategory | None = None
    station_id: uuid.UUID | None = None
    search: str | None = None


@dataclass(frozen=True)
class LogItem:
    """One line of the admin view: a system log row, or an audit entry shown as one."""

    source: str  # "log" | "audit"
    row_id: int
    at: datetime
    level: LogLevel
    category: LogCategory
    event: str
    message: str
    station_id: uuid.UUID | None
    ocpp_identity: str | None
    user_id: uuid.UUID | None
    details: dict[str, Any]
    target_type: str | None = None
    target_id: str | None = None

    @property
    def key(self) -> tuple[datetime, int, int]:
        return (self.at, _RANK[self.source], self.row_id)

    @property
    def id(self) -> str:
        return f"{self.source}:{self.row_id}"


@dataclass
class LogPage:
    items: list[LogItem]
    has_next: bool
    cursor_of: dict[str, str] = field(default_factory=dict)


def encode_cursor(item: LogItem) -> str:
    raw = json.dumps([item.at.isoformat(), item.source, item.row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str, int]:
    try:
        at, source, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or source not in _RANK or not isinstance(row_id, int):
            raise ValueError(cursor)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput("This cursor is not valid.", field="after") from exc
    return moment, source, row_id


def _like(value: str) -> str:
    return f"%{escape_like(value.lower())}%"


def _after(
    at_col: Any, id_col: Any, source: str, cursor: tuple[datetime, str, int] | None
) -> ColumnElement[bool] | None:
    """On one source: the rows that come after the cursor in the list (newest first)."""
    if cursor is None:
        return None
    at, cursor_source, row_id = cursor
    if _RANK[source] < _RANK[cursor_source]:
        return at_col <= at
    if _RANK[source] > _RANK[cursor_source]:
        return at_col < at
    return or_(at_col < at, and_(at_col == at, id_col < row_id))


class SystemLogs:
    """The admin view: system logs and audit entries, merged, newest first."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _logs(self, f: LogFilter) -> Select[Any] | None:
        e = SystemLogEntry
        stmt = select(e)
        if f.from_ is not None:
            stmt = stmt.where(e.at >= f.from_)
        if f.to is not None:
            stmt = stmt.where(e.at < f.to)
        if f.level is not None:
            stmt = stmt.where(e.level == f.level)
        if f.category is not None:
            stmt = stmt.where(e.category == f.category)
        if f.station_id is not None:
            stmt = stmt.where(e.station_id == f.station_id)
        if f.search:
            pattern = _like(f.search)
            stmt = stmt.where(
                or_(
                    func.lower(e.message).like(pattern, escape="\\"),
                    func.lower(e.event).like(pattern, escape="\\"),
                    func.lower(func.coalesce(e.ocpp_identity, "")).like(pattern, escape="\\"),
                )
            )
        return stmt

    def _audit(self, f: LogFilter) -> Select[Any] | None:
        if f.level not in (None, LogLevel.INFO):
            return None  # audit entries are information
        if f.category not in (None, LogCategory.ADMIN):
            return None
        a = AuditEntry
        stmt = select(a).where(a.action.not_in(MIRRORED_AUDIT_ACTIONS))
        if f.from_ is not None:
            stmt = stmt.where(a.at >= f.from_)
        if f.to is not None:
            stmt = stmt.where(a.at < f.to)
        if f.station_id is not None:
            stmt = stmt.where(a.target_type == _STATION_TARGET, a.target_id == str(f.station_id))
        if f.search:
            pattern = _like(f.search)
            stmt = stmt.where(
                or_(
                    func.lower(a.action).like(pattern, escape="\\"),
                    func.lower(func.coalesce(a.target_type, "")).like(pattern, escape="\\"),
                )
            )
        return stmt

    async def page(
        self, viewer: Viewer, f: LogFilter, first: int | None = 50, after: str | None = None
    ) -> LogPage:
        require_admin(viewer)
        first = 50 if first is None else first
        if not 0 <= first <= MAX_PAGE:
            raise InvalidInput(f"Ask for between 0 and {MAX_PAGE} items.", field="first")
        if f.from_ is not None and f.to is not None and f.from_ >= f.to:
            raise InvalidInput("The start must be before the end.", field="to")
        cursor = decode_cursor(after) if after else None
        items: list[LogItem] = []
        logs = self._logs(f)
        if logs is not None:
            e = SystemLogEntry
            condition = _after(e.at, e.id, _LOG, cursor)
            if condition is not None:
                logs = logs.where(condition)
            rows = await self.session.scalars(
                logs.order_by(e.at.desc(), e.id.desc()).limit(first + 1)
            )
            items.extend(_from_log(row) for row in rows)
        audit = self._audit(f)
        if audit is not None:
            a = AuditEntry
            condition = _after(a.at, a.id, _AUDIT, cursor)
            if condition is not None:
                audit = audit.where(condition)
            rows_a = await self.session.scalars(
                audit.order_by(a.at.desc(), a.id.desc()).limit(first + 1)
            )
            items.extend(_from_audit(row) for row in rows_a)
        items.sort(key=lambda item: item.key, reverse=True)
        has_next = len(items) > first
        items = items[:first]
        await self._name_stations(items)
        return LogPage(items, has_next, {item.id: encode_cursor(item) for item in items})

    async def count(self, viewer: Viewer, f: LogFilter) -> int:
        require_admin(viewer)
        total = 0
        for stmt in (self._logs(f), self._audit(f)):
            if stmt is not None:
                found = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
                total += int(found or 0)
        return total

    async def _name_stations(self, items: list[LogItem]) -> None:
        """Audit entries about a station get its id and identity, for the link in the view."""
        wanted = {item.station_id for item in items if item.station_id is not None}
        if not wanted:
            return
        names = dict(
            (
                await self.session.execute(
                    select(ChargingStation.id, ChargingStation.ocpp_identity).where(
                        ChargingStation.id.in_(wanted)
                    )
                )
            ).all()
        )
        for index, item in enumerate(items):
            if item.station_id is not None and item.ocpp_identity is None:
                items[index] = _with_identity(item, names.get(item.station_id))


def _with_identity(item: LogItem, identity: str | None) -> LogItem:
    return replace(item, ocpp_identity=identity)


def _from_log(row: SystemLogEntry) -> LogItem:
    return LogItem(
        source=_LOG,
        row_id=row.id,
        at=row.at,
        level=row.level,
        category=row.category,
        event=row.event,
        message=row.message,
        station_id=row.station_id,
        ocpp_identity=row.ocpp_identity,
        user_id=row.user_id,
        details=row.details or {},
    )


def _from_audit(row: AuditEntry) -> LogItem:
    station_id = None
    if row.target_type == _STATION_TARGET and row.target_id:
        with contextlib.suppress(ValueError):
            station_id = uuid.UUID(row.target_id)
    target = f" ({row.target_type})" if row.target_type else ""
    details: dict[str, Any] = dict(row.details or {})
    if row.target_type:
        details = {"target": row.target_type, "target_id": row.target_id, **details}
    return LogItem(
        source=_AUDIT,
        row_id=row.id,
        at=row.at,
        level=LogLevel.INFO,
        category=LogCategory.ADMIN,
        event=row.action,
        message=f"{row.action}{target}",
        station_id=station_id,
        ocpp_identity=None,
        user_id=row.actor_user_id,
        # Audit details hold field names and ids only; the sanitiser still applies.
        details=sanitize_details(details),
        target_type=row.target_type,
        target_id=row.target_id,
    )


# --- retention ----------------------------------------------------------------------------------

BATCH = 1000


@dataclass
class PurgeReport:
    system_logs: int = 0
    audit_entries: int = 0


async def _purge(
    sessionmaker: async_sessionmaker[AsyncSession], model: Any, before: datetime
) -> int:
    deleted = 0
    while True:
        async with sessionmaker() as session:
            ids = list(
                await session.scalars(
                    select(model.id).where(model.at < before).order_by(model.id).limit(BATCH)
                )
            )
            if not ids:
                return deleted
            result = await session.execute(delete(model).where(model.id.in_(ids)))
            await session.commit()
        deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
        if len(ids) < BATCH:
            return deleted
        await asyncio.sleep(0)  # let the station traffic of this process through


class RetentionJob:
    """Deletes expired system logs (and audit entries, when they expire); one per process."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        interval_s: float | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.interval_s = settings.system_log_purge_interval_s if interval_s is None else interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="vev-iq-log-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        # Processes started together do not all purge at the same moment.
        await asyncio.sleep(random.uniform(0, min(self.interval_s, 60)))
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away for a moment: try again later
                log.exception("log retention run failed")
            await asyncio.sleep(self.interval_s)

    async def run_once(self, now: datetime | None = None) -> PurgeReport:
        now = now or utcnow()
        report = PurgeReport()
        days = self.settings.system_log_retention_days
        report.system_logs = await _purge(
            self.sessionmaker, SystemLogEntry, now - timedelta(days=days)
        )
        audit_days = self.settings.audit_log_retention_days
        if audit_days > 0:
            report.audit_entries = await _purge(
                self.sessionmaker, AuditEntry, now - timedelta(days=audit_days)
            )
        if report.system_logs or report.audit_entries:
            async with self.sessionmaker() as session:
                record(
                    session,
                    LogLevel.INFO,
                    LogCategory.SYSTEM,
                    "system.logs_expired",
                    "Expired log entries were deleted.",
                    details={
                        "system_logs": report.system_logs,
                        "audit_entries": report.audit_entries,
                        "system_log_retention_days": days,
                        "audit_log_retention_days": audit_days,
                    },
                )
                await session.commit()
        return report
