"""Write-behind batching of meter values: many stations' messages, one database transaction.

Meter values are most of what stations send. Writing each in its own transaction costs a
commit (and, on SQLite, a turn at the single writer's lock) per message; here the messages of
all the stations of this process that arrive while a transaction is being written wait
together, and the next transaction writes them all at once:

- `record(request)` queues the request and waits. One flusher task per process takes what is
  queued (at most `max_batch`, after lingering `linger_s` when the queue is short, so that a
  quiet server still groups what arrives together), runs the domain's `record_many` over one
  session, commits, and only then resolves each waiting handler: **no station is answered
  before its data is committed.** While a batch is written the next one fills up, so under
  load batches grow by themselves and an idle server answers within about `linger_s`.
- The rules stay in the domain: `Sessions.record_many` applies `record_readings` to each
  request in order (idempotent, out-of-order safe), and its events are published after the
  commit (`publish_pending`).
- A failing batch (a constraint, a lost connection, a full disk...) is rolled back and replayed
  one request per transaction, so that one bad message fails alone: its station gets a
  CALLERROR (InternalError) and sends it again later; the others are answered once their own
  transaction commits. Replaying what might have been committed after all is safe: meter
  values are idempotent (one row per session and instant).
- A handler whose connection goes away stops waiting; its request is still written (the
  station will resend it and the domain will merge the repeat).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.charging import Charging, ReadingsRequest
from backend.events import EventBus

log = logging.getLogger("vev_iq.ocpp.ingest")

_Item = tuple[ReadingsRequest, "asyncio.Future[bool]"]


class IngestBatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus,
        *,
        max_batch: int = 500,
        linger_s: float = 0.001,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.bus = bus
        self.max_batch = max_batch
        self.linger_s = linger_s
        self._queue: list[_Item] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        # What was written, for the curious (and the tests).
        self.batches = 0
        self.largest_batch = 0
        self.failed_batches = 0  # batches of several replayed one by one

    async def record(self, request: ReadingsRequest) -> bool:
        """Record these meter values; return once they are committed (what `record_readings`
        returns), or raise what made their transaction fail."""
        if self._closed:
            raise RuntimeError("the ingest batcher is closed")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="vev-iq-ingest")
        self._wake.set()
        return await future

    async def close(self) -> None:
        """Write what is queued, then stop."""
        self._closed = True
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            await self._flush(batch)

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            if self.linger_s and len(self._queue) < self.max_batch:
                await asyncio.sleep(self.linger_s)
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                await self._flush(batch)
            except asyncio.CancelledError:
                # Closing: what was taken is written by close() (it may be written twice: the
                # domain merges repeats).
                self._queue[:0] = [item for item in batch if not item[1].done()]
                raise

    async def _flush(self, batch: list[_Item]) -> None:
        try:
            async with self.sessionmaker() as session:
                charging = Charging(session, self.bus, deferred=True)
                results = await charging.sessions.record_many([request for request, _ in batch])
                await session.commit()
                # Durable: now the stations may hear back.
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
                self.batches += 1
                self.largest_batch = max(self.largest_batch, len(batch))
                try:
                    await charging.sessions.publish_pending()
                except Exception:  # the state is committed; live views catch up later
                    log.exception("could not publish the events of a batch")
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if len(batch) == 1:
                _, future = batch[0]
                if not future.done():
                    future.set_exception(error)
                log.warning("meter values could not be recorded: %s", error)
                return
            self.failed_batches += 1
            log.warning(
                "a batch of %d meter values failed (%s): one transaction each", len(batch), error
            )
            for item in batch:
                if item[1].cancelled() or not item[1].done():  # not answered yet
                    await self._flush([item])
