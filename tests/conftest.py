"""Shared fixtures: a real database (SQLite by default, PostgreSQL when DATABASE_URL says so),
a real SMTP server catching mail, and the application served in-process or over a socket.

Environment:
- DATABASE_URL: postgresql+asyncpg://... runs every database test on PostgreSQL.
- VEV_IQ_REQUIRE_SERVICES=1: a test needing PostgreSQL or Redis fails instead of skipping
  when the service is missing (CI sets it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.app import create_app
from backend.db import migrations
from backend.db.base import Base
from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.accounts import Accounts
from backend.domain.mailer import Mailer
from backend.settings import Settings

REQUIRE_SERVICES = os.environ.get("VEV_IQ_REQUIRE_SERVICES") == "1"
PASSWORD = "correct horse battery"


def needs(service: str, reason: str) -> None:
    """Skip (or, in CI, fail) a test whose service is not configured."""
    message = f"needs {service}: {reason}"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- mail --------------------------------------------------------------------------------------


@dataclass
class MailBox:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    def last_link(self, address: str, path: str) -> str:
        for message in reversed(self.to(address)):
            body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
            found = re.search(rf"https?://\S+{re.escape(path)}\?token=[\w\-]+", body)
            if found:
                return found.group(0)
        raise AssertionError(f"no mail with a {path} link was sent to {address}")

    def last_token(self, address: str, path: str) -> str:
        return self.last_link(address, path).rsplit("token=", 1)[1]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[MailBox, int]]:
    box = MailBox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[MailBox, int]) -> MailBox:
    box, _ = smtp_server
    box.messages.clear()
    return box


# --- database ------------------------------------------------------------------------------------


def database_url(tmp_root: Path) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url:
        return Settings(database_url=url).database_url
    return f"sqlite+aiosqlite:///{tmp_root / 'test.sqlite3'}"


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


async def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def _prepare_database(url: str) -> None:
    if is_postgres(url):
        asyncio.run(reset_postgres(url))
    migrations.upgrade(url)


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = database_url(tmp_path_factory.mktemp("db"))
    # Alembic runs its own event loop; this fixture may be set up while the tests' loop runs.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_prepare_database, url).result()
    return url


@pytest.fixture(scope="session")
def settings(
    db_url: str, smtp_server: tuple[MailBox, int], tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    _, port = smtp_server
    return Settings(
        database_url=db_url,
        data_dir=tmp_path_factory.mktemp("data"),
        secret_key="test-secret-key",
        smtp_host="127.0.0.1",
        smtp_port=port,
        public_url="http://testserver",
        login_max_failures=5,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.resolved_database_url())
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessionmaker(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    # Each test starts from empty tables (faster than migrating again).
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())
    yield create_sessionmaker(engine)


@pytest.fixture
async def db(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def accounts(db: AsyncSession, settings: Settings) -> Accounts:
    return Accounts(db, settings, Mailer(settings))


# --- the application -----------------------------------------------------------------------------


class Api:
    """A GraphQL client for tests, speaking HTTP to the real ASGI app."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code in (200, 400), response.text
        return response.json()  # type: ignore[no-any-return]

    async def ok(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        result = await self(query, variables, **kw)
        assert not result.get("errors"), result["errors"]
        return result["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """The first error's extensions (with its message under 'message')."""
        result = await self(query, variables, **kw)
        assert result.get("errors"), f"expected an error, got {result}"
        first = result["errors"][0]
        return {"message": first["message"], **first.get("extensions", {})}


@pytest.fixture
async def app(settings: Settings, sessionmaker: Any) -> Any:
    return create_app(settings)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


# --- people ---------------------------------------------------------------------------------


@dataclass
class Person:
    id: uuid.UUID
    email: str
    token: str


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


_PASSWORD_HASH: str | None = None


def password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        from backend.domain.passwords import hash_password

        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


@pytest.fixture
def make_user(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> Any:
    """Create an active, verified, consenting user with a live session token."""
    from datetime import timedelta

    from backend.db.base import utcnow
    from backend.db.models import AuthSession, ConsentRecord, Role, SiteMember, User, UserStatus
    from backend.domain.tokens import new_token

    async def make(
        role: Role = Role.BASIC,
        *,
        sites: dict[uuid.UUID, Any] | None = None,
        email: str | None = None,
        **fields: Any,
    ) -> Person:
        address = email or unique_email(role.value)
        token, token_hash = new_token()
        async with sessionmaker() as session:
            user = User(
                email=address,
                password_hash=password_hash(),
                first_name=fields.pop("first_name", "Ada"),
                last_name=fields.pop("last_name", "Lovelace"),
                role=role,
                status=UserStatus.ACTIVE,
                email_verified_at=utcnow(),
                **fields,
            )
            session.add(user)
            await session.flush()
            session.add(
                ConsentRecord(user_id=user.id, policy_version=settings.privacy_policy_version)
            )
            session.add(
                AuthSession(
                    user_id=user.id, token_hash=token_hash, expires_at=utcnow() + timedelta(days=1)
                )
            )
            for site_id, site_role in (sites or {}).items():
                session.add(SiteMember(site_id=site_id, user_id=user.id, role=site_role))
            await session.commit()
            return Person(id=user.id, email=address, token=token)

    return make
