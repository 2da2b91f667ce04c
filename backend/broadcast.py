"""The event bus on `broadcaster`: domain events as JSON on channels, in-process or over Redis.

`BROADCAST_URL=memory://` (the embedded default) keeps events inside the process;
`redis://host:6379/N` carries them between every server process. Channel names get a prefix
(`BROADCAST_PREFIX` and the Redis DB index) because Redis pub/sub ignores the DB index: two
deployments, or two test runs, on one Redis must not hear each other.

Two fixes over broadcaster 0.3.1, found the hard way:
- its Redis backend loses every message to the first subscriber of a fresh process: its reader
  task starts listening when `subscribe()` is called but before redis-py has recorded the
  channel, sees "no channel subscribed", and goes back to sleep until a *new* channel is
  subscribed. `RedisBackend` below reads the pub/sub connection all the time, and
  `subscribe()` returns only once Redis has confirmed the SUBSCRIBE, so a message published
  after `subscribe()` returned is always delivered;
- `Broadcast.subscribe` lets two concurrent first subscribers of one channel overwrite each
  other's queue; `SafeBroadcast` serializes the bookkeeping per channel.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from broadcaster import Broadcast
from broadcaster._backends.base import BroadcastBackend
from broadcaster._backends.memory import MemoryBackend
from broadcaster._base import Event as BroadcastEvent
from broadcaster._base import Subscriber
from redis import asyncio as aioredis

from backend.events import Event

log = logging.getLogger("vev_iq.bus")

SUBSCRIBE_CONFIRM_TIMEOUT_S = 10.0


class RedisBackend(BroadcastBackend):
    """broadcaster's backend interface over one Redis pub/sub connection, read continuously."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._queue: asyncio.Queue[BroadcastEvent] = asyncio.Queue()
        self._confirmations: dict[str, list[asyncio.Future[None]]] = defaultdict(list)
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self._conn = aioredis.Redis.from_url(self._url)
        self._pubsub = self._conn.pubsub()
        await self._pubsub.connect()
        self._reader = asyncio.create_task(self._read(), name="redis-pubsub-reader")

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except asyncio.CancelledError:
                pass
        await self._pubsub.aclose()
        await self._conn.aclose()

    async def subscribe(self, channel: str) -> None:
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations[channel].append(confirmed)
        try:
            await self._pubsub.subscribe(channel)
            await asyncio.wait_for(confirmed, SUBSCRIBE_CONFIRM_TIMEOUT_S)
        finally:
            waiting = self._confirmations.get(channel)
            if waiting and confirmed in waiting:
                waiting.remove(confirmed)
            if not waiting:
                self._confirmations.pop(channel, None)

    async def unsubscribe(self, channel: str) -> None:
        await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        await self._conn.publish(channel, message)

    async def next_published(self) -> BroadcastEvent:
        return await self._queue.get()

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception:  # a lost connection: redis-py reconnects and resubscribes
                log.warning("redis pub/sub read failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            if not message:
                continue
            kind = message["type"]
            channel = _text(message["channel"])
            if kind == "message":
                await self._queue.put(BroadcastEvent(channel, _text(message["data"])))
            elif kind == "subscribe":
                for waiting in self._confirmations.pop(channel, []):
                    if not waiting.done():
                        waiting.set_result(None)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class SafeBroadcast(Broadcast):
    """`Broadcast` whose subscribe/unsubscribe bookkeeping is safe under concurrency."""

    _LOCKS = 64

    def __init__(self, backend: BroadcastBackend) -> None:
        super().__init__(backend=backend)
        self._locks = [asyncio.Lock() for _ in range(self._LOCKS)]

    def _lock(self, channel: str) -> asyncio.Lock:
        return self._locks[zlib.crc32(channel.encode()) % self._LOCKS]

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        queue: asyncio.Queue[BroadcastEvent | None] = asyncio.Queue()
        async with self._lock(channel):
            queues = self._subscribers.get(channel)
            if queues:
                queues.add(queue)
            else:
                # Registered before the backend subscribes: nothing confirmed is dropped.
                self._subscribers[channel] = {queue}
                try:
                    await self._backend.subscribe(channel)
                except BaseException:
                    del self._subscribers[channel]
                    raise
        try:
            yield Subscriber(queue)
        finally:
            async with self._lock(channel):
                queues = self._subscribers.get(channel)
                if queues is not None:
                    queues.discard(queue)
                    if not queues:
                        del self._subscribers[channel]
                        try:
                            await self._backend.unsubscribe(channel)
                        except Exception:
                            log.warning("could not unsubscribe from %s", channel, exc_info=True)


def _backend_for(url: str, prefix: str) -> tuple[BroadcastBackend, str, bool]:
    """The backend, the channel prefix, and whether events cross processes."""
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss"):
        db = parts.path.strip("/") or "0"
        return RedisBackend(url), f"{prefix}:{db}:", True
    if parts.scheme == "memory":
        return MemoryBackend(url), "", False
    raise ValueError(f"BROADCAST_URL: unsupported scheme {parts.scheme!r} (memory:// or redis://)")


class BroadcastBus:
    """The `EventBus` of the server: publishes events, and lets subscribers listen to channels."""

    def __init__(self, url: str = "memory://", prefix: str = "vev-iq") -> None:
        backend, self.prefix, self.shared = _backend_for(url, prefix)
        self.broadcast = SafeBroadcast(backend)
        self.connected = False

    async def connect(self) -> None:
        if not self.connected:
            await self.broadcast.connect()
            self.connected = True

    async def disconnect(self) -> None:
        if self.connected:
            self.connected = False
            await self.broadcast.disconnect()

    async def __aenter__(self) -> BroadcastBus:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    async def publish(self, event: Event) -> None:
        """Publish a domain event on each of its channels. Best effort: the state is already
        committed, so a failing bus is logged, never raised into the OCPP exchange."""
        if not self.connected:
            return
        message = json.dumps(event.to_dict(), separators=(",", ":"))
        for channel in event.channels:
            await self.send(channel, message)

    async def send(self, channel: str, message: str | dict[str, Any]) -> bool:
        if not self.connected:
            return False
        if not isinstance(message, str):
            message = json.dumps(message, separators=(",", ":"), default=str)
        try:
            await self.broadcast.publish(self.prefix + channel, message)
        except Exception:
            log.warning("could not publish on %s", channel, exc_info=True)
            return False
        return True

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Listen to a channel; the subscription is live when this context is entered."""
        if not self.connected:
            raise RuntimeError("the event bus is not connected")
        async with self.broadcast.subscribe(self.prefix + channel) as subscriber:
            yield _decoded(subscriber)


async def _decoded(subscriber: Subscriber) -> AsyncIterator[dict[str, Any]]:
    while True:
        event = await subscriber.get()
        try:
            decoded = json.loads(event.message)
        except ValueError:
            log.warning("dropped a message that is not JSON on %s", event.channel)
            continue
        if isinstance(decoded, dict):
            yield decoded
