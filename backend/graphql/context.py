"""What every resolver can reach: the viewer, short database sessions, loaders, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection
from starlette.responses import Response
from strawberry.dataloader import DataLoader

from backend.domain.mailer import Mailer
from backend.domain.viewer import Viewer
from backend.settings import Settings


@dataclass
class Services:
    """Process-wide objects, built once at start-up."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    mailer: Mailer
    secret_key: str
    # The event bus (subscriptions listen to it) and the link that delivers commands to
    # stations whichever process holds them; both set by the application at start-up.
    bus: Any = None
    station_link: Any = None
    # Smart charging's per-process planner trigger (backend.domain.load_management).
    load_manager: Any = None


@dataclass
class Context:
    services: Services
    viewer: Viewer
    request: HTTPConnection | None = None
    response: Response | None = None
    loaders: dict[Any, DataLoader[Any, Any]] = field(default_factory=dict)
    # graphql-transport-ws: the payload of connection_init (e.g. {"authorization": "Bearer …"}).
    connection_params: dict[str, Any] | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        # One short session per resolver or loader batch: GraphQL resolves sibling fields
        # concurrently, and an AsyncSession must never be shared between concurrent tasks.
        async with self.services.sessionmaker() as session:
            yield session

    def loader(self, key: Any, factory: Callable[[], DataLoader[Any, Any]]) -> DataLoader[Any, Any]:
        found = self.loaders.get(key)
        if found is None:
            found = self.loaders[key] = factory()
        return found
