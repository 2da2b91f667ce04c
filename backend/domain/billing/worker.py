"""The billing worker: one per server process, started with the application.

It runs `Invoicing.run_once` (settle, issue, push and email, refunds) whenever work may have
appeared, and every `billing_poll_s` otherwise (retries, sessions settling after
`billing_settle_after_h`). Work appears when a session stops or its connector is free again:
every process hears those events on the shared bus (`sessions` and `stations` channels), and
whichever worker gets to a session or invoice first takes it (conditional claims and leases in
`invoicing`), so running it in many processes is safe and spreads the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.billing.gateway import PaymentGateway
from backend.domain.billing.invoicing import Invoicing, RunReport, gateway_for
from backend.domain.mailer import Mailer
from backend.settings import Settings

log = logging.getLogger("vev_iq.billing")

# Events after which there may be a session to invoice.
WAKING_KINDS = frozenset({"session.stopped", "session.priced"})
# A burst of events (many stations at once) makes one run, not one each.
DEBOUNCE_S = 0.2


class BillingWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        mailer: Mailer,
        bus: Any = None,
        *,
        gateway: PaymentGateway | None = None,
        poll_s: float | None = None,
    ) -> None:
        self.bus = bus
        self.poll_s = settings.billing_poll_s if poll_s is None else poll_s
        self.invoicing = Invoicing(
            sessionmaker,
            settings,
            mailer,
            gateway if gateway is not None else gateway_for(settings),
        )
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.runs = 0  # completed runs (tests, debugging)

    @property
    def gateway(self) -> PaymentGateway:
        return self.invoicing.gateway

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        from backend.broadcast import BroadcastBus

        bus = self.bus
        if isinstance(bus, BroadcastBus) and bus.connected:
            for channel in ("sessions", "stations"):
                ready = asyncio.Event()
                self._spawn(self._listen(bus, channel, ready))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ready.wait(), 10)
        self._spawn(self._loop())
        self.wake()  # whatever was left when the process last stopped

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- running --------------------------------------------------------------------------------

    def wake(self) -> None:
        """Run soon (there may be work)."""
        self._wake.set()

    async def run_once(self) -> RunReport:
        report = await self.invoicing.run_once()
        self.runs += 1
        return report

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            await asyncio.sleep(DEBOUNCE_S)
            self._wake.clear()
            try:
                report = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away for a moment: try again later
                log.exception("billing run failed")
                continue
            if report.busy:
                self.wake()

    async def _listen(self, bus: Any, channel: str, ready: asyncio.Event) -> None:
        while True:
            try:
                async with bus.subscribe(channel) as events:
                    ready.set()
                    async for event in events:
                        self.on_event(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("billing: listening on %s failed", channel, exc_info=True)
                await asyncio.sleep(1.0)

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if kind in WAKING_KINDS or (
            kind == "connector.status" and event.get("status") == "Available"
        ):
            self.wake()


__all__ = ["BillingWorker"]
