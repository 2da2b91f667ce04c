"""2.0.1 Diagnostics and device model: NotifyEvent and NotifyReport, published for admins
(a summary; the device model itself is not stored yet)."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from ocpp_server.v201.common import Handler201

MAX_ITEMS = 20


def _name(item: Any, key: str) -> str | None:
    part = item.get(key) if isinstance(item, dict) else None
    return part.get("name") if isinstance(part, dict) else None


class Reporting201(Handler201):
    @on(Action.notify_event)
    async def on_notify_event(
        self, generated_at: Any, seq_no: Any, event_data: Any, **kwargs: Any
    ) -> call_result.NotifyEvent:
        station = self.require_station()
        events = [
            {
                "trigger": e.get("trigger"),
                "component": _name(e, "component"),
                "variable": _name(e, "variable"),
                "value": str(e.get("actual_value"))[:100],
                "cleared": e.get("cleared"),
            }
            for e in (event_data or [])[:MAX_ITEMS]
            if isinstance(e, dict)
        ]
        async with self.domain() as charging:
            await charging.status.notice(
                station.id, "event", {"seq_no": seq_no, "tbc": kwargs.get("tbc"), "events": events}
            )
        return call_result.NotifyEvent()

    @on(Action.notify_report)
    async def on_notify_report(
        self, request_id: Any, generated_at: Any, seq_no: Any, **kwargs: Any
    ) -> call_result.NotifyReport:
        station = self.require_station()
        items = kwargs.get("report_data") or []
        data = {
            "request_id": request_id,
            "seq_no": seq_no,
            "tbc": kwargs.get("tbc"),
            "items": len(items),
            "variables": [
                f"{_name(i, 'component')}.{_name(i, 'variable')}" for i in items[:MAX_ITEMS]
            ],
        }
        async with self.domain() as charging:
            await charging.status.notice(station.id, "report", data)
        return call_result.NotifyReport()
