"""The data protection officer is a basic user, except for data rights: every root query and
mutation of the permission matrix (tests/graphql/test_permission_matrix.py), run as a DPO who
is a member of site A like the matrix's "basic" user, answers as for that user — and, for the
data-rights operations on someone else, as for an administrator."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import Base
from backend.db.models import Role, SiteRole
from tests.conftest import Api
from tests.graphql.test_permission_matrix import (
    DENY,
    EXPECTED_QUERIES,
    MUTATION_CASES,
    NULL,
    OK,
    SCHEMA,
    _query_args,
    _upload,
    selection,
)
from tests.graphql.world import World, build_world

# Acting on anyone's data rights: what the DPO does like an administrator.
DATA_RIGHTS_QUERIES = {"userPrivacy", "erasureRequests"}
DATA_RIGHTS_MUTATIONS = {
    "setPrivacyPreferences",
    "objectTo",
    "requestErasure",
    "cancelErasureRequest",
    "confirmErasure",
    "withdrawConsent",
}


async def _world_with_dpo(
    sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> tuple[World, str]:
    world = await build_world(sessionmaker, make_user)
    dpo = await make_user(Role.DPO, sites={world.site_a: SiteRole.MEMBER})
    return world, dpo.token


async def test_root_queries_as_the_dpo(
    api: Api, sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> None:
    world, token = await _world_with_dpo(sessionmaker, make_user)
    args = _query_args(world)
    failures = []
    for name, field in SCHEMA.query_type.fields.items():
        like = "admin" if name in DATA_RIGHTS_QUERIES else "basic"
        expected = EXPECTED_QUERIES[name][like]
        result = await api(
            f"{{ result: {name}{args.get(name, '')} {selection(field.type)} }}", token=token
        )
        if result.get("errors"):
            got: Any = DENY
        elif result["data"]["result"] is None:
            got = NULL
        elif isinstance(expected, int):
            # Lists: the DPO sees the rows the basic member sees, not the admin's.
            got = result["data"]["result"]["totalCount"]
        else:
            got = OK
        if got != expected:
            failures.append(f"{name}: expected {expected} (as {like}), got {got} {result}")
    assert failures == []


@pytest.mark.parametrize("mutation", sorted(MUTATION_CASES))
async def test_mutations_as_the_dpo(
    api: Api, sessionmaker: async_sessionmaker[AsyncSession], make_user: Any, mutation: str
) -> None:
    failures = []
    for query, make_vars, expected in MUTATION_CASES[mutation]:
        async with sessionmaker() as session:
            for table in reversed(Base.metadata.sorted_tables):
                await session.execute(table.delete())
            await session.commit()
        world, token = await _world_with_dpo(sessionmaker, make_user)
        variables = make_vars(world, "basic")
        on_someone = mutation in DATA_RIGHTS_MUTATIONS and "user" in variables
        like = "admin" if on_someone else "basic"
        if query == "UPLOAD":
            result = await _upload(api, variables, token)
        else:
            result = await api(query, variables, token=token)
        got = (
            result["errors"][0].get("extensions", {}).get("code", result["errors"][0]["message"])
            if result.get("errors")
            else "ok"
        )
        if got != expected[like]:
            failures.append(f"{mutation}: expected {expected[like]} (as {like}), got {got}")
    assert failures == []
