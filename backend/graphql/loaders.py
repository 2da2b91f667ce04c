"""DataLoaders: every list field loads its rows for the whole page in one query."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute
from strawberry.dataloader import DataLoader

from backend.db.base import Base
from backend.graphql.context import Context

M = TypeVar("M", bound=Base)


def by_id(ctx: Context, model: type[M]) -> DataLoader[uuid.UUID, M | None]:
    async def load(keys: Sequence[uuid.UUID]) -> list[M | None]:
        async with ctx.session() as session:
            rows = await session.scalars(select(model).where(model.id.in_(keys)))  # type: ignore[attr-defined]
            found = {row.id: row for row in rows}  # type: ignore[attr-defined]
        return [found.get(key) for key in keys]

    return ctx.loader(("id", model), lambda: DataLoader(load_fn=load))


def children(
    ctx: Context,
    column: InstrumentedAttribute[Any],
    *order_by: Any,
) -> DataLoader[uuid.UUID, list[Any]]:
    model = column.class_

    async def load(keys: Sequence[uuid.UUID]) -> list[list[Any]]:
        grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
        async with ctx.session() as session:
            rows = await session.scalars(select(model).where(column.in_(keys)).order_by(*order_by))
            for row in rows:
                grouped[getattr(row, column.key)].append(row)
        return [grouped.get(key, []) for key in keys]

    return ctx.loader(("children", column), lambda: DataLoader(load_fn=load))


def counts(ctx: Context, column: InstrumentedAttribute[Any]) -> DataLoader[uuid.UUID, int]:
    async def load(keys: Sequence[uuid.UUID]) -> list[int]:
        async with ctx.session() as session:
            rows = await session.execute(
                select(column, func.count()).where(column.in_(keys)).group_by(column)
            )
            found = {key: count for key, count in rows}
        return [found.get(key, 0) for key in keys]

    return ctx.loader(("count", column), lambda: DataLoader(load_fn=load))
