"""Relay-style connections with opaque cursors."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy import Select, func, select

from backend.domain.errors import InvalidInput
from backend.graphql.context import Context

T = TypeVar("T")
MAX_PAGE = 100
MAX_OFFSET = 1_000_000_000


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    async def total_count(self) -> int:
        # Counted only when asked for: a count is a second query on a possibly large table.
        return await self._count()


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _decode(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        offset = int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("This cursor is not valid.", field="after") from exc
    if kind != "o" or not 0 <= offset < MAX_OFFSET:
        raise InvalidInput("This cursor is not valid.", field="after")
    return offset + 1


async def paginate(ctx: Context, stmt: Select[Any], first: int | None, after: str | None) -> Any:
    """One page of `stmt` (which must be ordered, ending on a unique column)."""
    if first is None:
        first = 20
    if not 0 <= first <= MAX_PAGE:
        raise InvalidInput(f"Ask for between 0 and {MAX_PAGE} items.", field="first")
    start = _decode(after)
    async with ctx.session() as session:
        rows = list((await session.scalars(stmt.offset(start).limit(first + 1))).all())
    has_next = len(rows) > first
    rows = rows[:first]
    edges = [Edge(cursor=_encode(start + i), node=row) for i, row in enumerate(rows)]

    async def count() -> int:
        async with ctx.session() as session:
            total = await session.scalar(
                select(func.count()).select_from(stmt.order_by(None).subquery())
            )
        return int(total or 0)

    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=start > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        _count=count,
    )
