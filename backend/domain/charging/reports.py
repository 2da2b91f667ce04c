"""What stations report back (firmware and diagnostics progress, events, device reports,
security events) as small system-log entries: the status and ids that say what happened,
never the whole payload, secrets or anything personal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.db.models import LogCategory, LogLevel
from backend.domain.system_logs import clean_text, secret_key

# Statuses that mean the operation failed: the admin who started it must notice them.
FAILED_FIRMWARE = frozenset(
    {"DownloadFailed", "InstallationFailed", "InstallVerificationFailed", "InvalidSignature"}
)
FAILED_DIAGNOSTICS = frozenset({"UploadFailed"})
# A NotifyEvent may carry many events: the log keeps the first few (and how many there were).
LOGGED_EVENTS = 5


@dataclass(frozen=True)
class ReportLog:
    """The system-log entry of what a station reported."""

    level: LogLevel
    category: LogCategory
    event: str
    message: str
    details: dict[str, Any]


def _word(value: Any, limit: int = 50) -> str | None:
    """A station-given status or name, fit for a sentence (None when absent)."""
    return None if value is None or value == "" else clean_text(str(value), limit)


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return len(value) if isinstance(value, list | tuple) else None


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _event_summary(event: Any) -> dict[str, Any] | None:
    if not isinstance(event, dict):
        return None
    component = _word(event.get("component"), 50)
    variable = _word(event.get("variable"), 50)
    # A monitored variable may be a credential (SecurityCtrlr.BasicAuthPassword...): its
    # name is kept, its value never.
    secret = any(secret_key(name) for name in (component, variable) if name)
    value = None if secret else _word(event.get("value"), 100)
    cleared = event.get("cleared")
    return _present(
        trigger=_word(event.get("trigger")),
        component=component,
        variable=variable,
        value=value,
        cleared=cleared if isinstance(cleared, bool) else None,
    )


def report_log(kind: str, data: dict[str, Any]) -> ReportLog:
    """What a station reported, as a small system-log entry: the status and ids that say what
    happened, never the whole payload (a device report may hold thousands of variables)."""
    status = _word(data.get("status"))
    if kind == "firmware":
        failed = status in FAILED_FIRMWARE
        return ReportLog(
            LogLevel.WARNING if failed else LogLevel.INFO,
            LogCategory.OCPP,
            "station.firmware",
            f"Firmware update status: {status or 'unknown'}.",
            _present(status=status, request_id=data.get("request_id")),
        )
    if kind == "diagnostics":
        failed = status in FAILED_DIAGNOSTICS
        return ReportLog(
            LogLevel.WARNING if failed else LogLevel.INFO,
            LogCategory.OCPP,
            "station.diagnostics",
            f"Diagnostics upload status: {status or 'unknown'}.",
            _present(status=status),
        )
    if kind == "report":
        items = _count(data.get("items"))
        more = data.get("tbc") is True
        return ReportLog(
            LogLevel.INFO,
            LogCategory.OCPP,
            "station.report",
            f"Device report received: {items or 0} items" + (", more to follow." if more else "."),
            _present(
                request_id=data.get("request_id"),
                seq_no=data.get("seq_no"),
                items=items or 0,
                tbc=more,
            ),
        )
    if kind == "event":
        raw = data.get("events")
        events = raw if isinstance(raw, list) else []
        kept = [e for e in (_event_summary(e) for e in events[:LOGGED_EVENTS]) if e]
        return ReportLog(
            LogLevel.INFO,
            LogCategory.OCPP,
            "station.event",
            f"The station reported {len(events)} event(s).",
            _present(
                seq_no=data.get("seq_no"),
                tbc=data.get("tbc") is True,
                count=len(events),
                events=kept,
            ),
        )
    if kind == "security_event":
        kind_of = _word(data.get("type"))
        return ReportLog(
            LogLevel.WARNING,
            LogCategory.SECURITY,
            "station.security_event",
            f"Security event reported by the station: {kind_of or 'unknown'}.",
            _present(
                type=kind_of,
                timestamp=_word(data.get("timestamp")),
                tech_info=_word(data.get("tech_info"), 100),
            ),
        )
    name = _word(kind, 40) or "unknown"
    return ReportLog(
        LogLevel.INFO,
        LogCategory.OCPP,
        f"station.{name}",
        f"The station sent a notice: {name}.",
        _present(status=status),
    )
