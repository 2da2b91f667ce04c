"""The GraphQL API as a whole: pagination, filters, sorting, DataLoaders, operation limits,
masked errors, picture uploads, the cross-origin guard and ID parsing."""

from __future__ import annotations

import base64
import io
import json
import logging
import random
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.app import create_app
from backend.db.base import utcnow
from backend.db.models import (
    ChargingStation,
    Connector,
    RegistrationStatus,
    RfidCard,
    Role,
    Site,
    SiteArea,
    SiteRole,
    User,
    UserStatus,
    Vehicle,
)
from backend.settings import Settings
from tests.conftest import Api, Person, password_hash

Maker = async_sessionmaker[AsyncSession]

USERS_PAGE = """
query($first: Int, $after: String, $filter: UserFilter, $order: UserOrder) {
  users(first: $first, after: $after, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id email firstName lastName } }
  }
}
"""


async def add_users(sessionmaker: Maker, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    """Insert people directly (one shared password hash): the listing is what is tested."""
    async with sessionmaker() as session:
        defaults = {
            "password_hash": password_hash(),
            "role": Role.BASIC,
            "status": UserStatus.ACTIVE,
            "email_verified_at": utcnow(),
        }
        users = [User(**{**defaults, **row}) for row in rows]
        session.add_all(users)
        await session.commit()
        return [u.id for u in users]


@pytest.fixture
async def admin(make_user: Any) -> Person:
    return await make_user(Role.ADMIN, email=f"zz-admin-{uuid.uuid4().hex[:6]}@example.org")


# --- pagination ------------------------------------------------------------------------------


async def test_walk_pages_with_cursors(api: Api, admin: Person, sessionmaker: Maker) -> None:
    ids = await add_users(
        sessionmaker,
        [
            {"email": f"p{i:03d}@example.com", "first_name": "Pat", "last_name": f"Page{i:03d}"}
            for i in range(45)
        ],
    )
    only_basic = {"role": "BASIC"}
    seen: list[str] = []
    after = None
    pages = []
    while True:
        data = await api.ok(
            USERS_PAGE, {"first": 20, "after": after, "filter": only_basic}, token=admin.token
        )
        page = data["users"]
        pages.append(page)
        seen += [edge["node"]["id"] for edge in page["edges"]]
        assert page["totalCount"] == 45
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]

    assert [len(p["edges"]) for p in pages] == [20, 20, 5]
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False, True, True]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    assert pages[1]["pageInfo"]["startCursor"] == pages[1]["edges"][0]["cursor"]
    assert len(set(seen)) == 45
    assert set(seen) == {str(i) for i in ids}
    # The default order is by name, so the pages follow Page000 ... Page044.
    assert [e["node"]["lastName"] for p in pages for e in p["edges"]] == [
        f"Page{i:03d}" for i in range(45)
    ]

    # Past the end: an empty page, not an error.
    data = await api.ok(
        USERS_PAGE,
        {"first": 20, "after": pages[-1]["pageInfo"]["endCursor"], "filter": only_basic},
        token=admin.token,
    )
    assert data["users"]["edges"] == []
    assert data["users"]["pageInfo"]["hasNextPage"] is False
    assert data["users"]["pageInfo"]["endCursor"] is None

    # first: 0 answers only the count.
    data = await api.ok(USERS_PAGE, {"first": 0, "filter": only_basic}, token=admin.token)
    assert (data["users"]["edges"], data["users"]["totalCount"]) == ([], 45)
    assert data["users"]["pageInfo"]["hasNextPage"] is True
    # The admin is listed too without the filter.
    data = await api.ok(USERS_PAGE, {"first": 100}, token=admin.token)
    assert data["users"]["totalCount"] == 46
    assert str(admin.id) in {e["node"]["id"] for e in data["users"]["edges"]}


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    ["garbage!", "zzz", _cursor("x:3"), _cursor("o:-5"), _cursor("o:abc"), _cursor("o"), "%%%"],
)
async def test_invalid_cursor_is_bad_user_input(api: Api, admin: Person, cursor: str) -> None:
    error = await api.error(USERS_PAGE, {"after": cursor}, token=admin.token)
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "after")


async def test_cursor_with_huge_offset_is_bad_user_input(api: Api, admin: Person) -> None:
    error = await api.error(USERS_PAGE, {"after": _cursor("o:" + "9" * 22)}, token=admin.token)
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "after")


@pytest.mark.parametrize("first", [101, 1000, -1])
async def test_page_size_is_bounded(api: Api, admin: Person, first: int) -> None:
    error = await api.error(USERS_PAGE, {"first": first}, token=admin.token)
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "first")
    assert "100" in error["message"]


async def test_page_of_100_is_allowed(api: Api, admin: Person) -> None:
    data = await api.ok(USERS_PAGE, {"first": 100}, token=admin.token)
    assert data["users"]["totalCount"] == 1


# --- filters and sorting ---------------------------------------------------------------------


async def _search(api: Api, admin: Person, text: str) -> list[str]:
    data = await api.ok(
        USERS_PAGE, {"first": 100, "filter": {"search": text, "role": "BASIC"}}, token=admin.token
    )
    return sorted(e["node"]["lastName"] for e in data["users"]["edges"])


async def test_search_is_case_insensitive_and_wildcards_are_literal(
    api: Api, admin: Person, sessionmaker: Maker
) -> None:
    await add_users(
        sessionmaker,
        [
            {"email": "margaret@nasa.example", "first_name": "Margaret", "last_name": "Hamilton"},
            {"email": "katherine@nasa.example", "first_name": "Katherine", "last_name": "Johnson"},
            {"email": "percent@example.com", "first_name": "Full", "last_name": "100%"},
            {"email": "plain@example.com", "first_name": "Thousand", "last_name": "1000"},
            {"email": "under@example.com", "first_name": "Snake", "last_name": "snake_case"},
            {"email": "nounder@example.com", "first_name": "Camel", "last_name": "snakeXcase"},
            {"email": "back@example.com", "first_name": "Back", "last_name": "a\\b"},
        ],
    )
    assert await _search(api, admin, "HAMIL") == ["Hamilton"]
    assert await _search(api, admin, "  hamil ") == ["Hamilton"]  # trimmed
    assert await _search(api, admin, "kAtHeRiNe") == ["Johnson"]
    assert await _search(api, admin, "NASA.EXAMPLE") == ["Hamilton", "Johnson"]
    # % and _ are what they look like, not LIKE wildcards.
    assert await _search(api, admin, "%") == ["100%"]
    assert await _search(api, admin, "0%") == ["100%"]
    assert await _search(api, admin, "100%") == ["100%"]
    assert await _search(api, admin, "e_c") == ["snake_case"]
    assert await _search(api, admin, "_") == ["snake_case"]
    assert await _search(api, admin, "\\") == ["a\\b"]
    assert await _search(api, admin, "nobody here") == []

    data = await api.ok(
        USERS_PAGE, {"filter": {"search": "example", "role": "ADMIN"}}, token=admin.token
    )
    assert [e["node"]["id"] for e in data["users"]["edges"]] == [str(admin.id)]


async def test_role_and_status_filters(api: Api, admin: Person, sessionmaker: Maker) -> None:
    await add_users(
        sessionmaker,
        [
            {"email": "d@example.com", "first_name": "D", "last_name": "Demo", "role": Role.DEMO},
            {
                "email": "b@example.com",
                "first_name": "B",
                "last_name": "Blocked",
                "status": UserStatus.BLOCKED,
            },
        ],
    )
    demo = await api.ok(USERS_PAGE, {"filter": {"role": "DEMO"}}, token=admin.token)
    assert [e["node"]["lastName"] for e in demo["users"]["edges"]] == ["Demo"]
    blocked = await api.ok(USERS_PAGE, {"filter": {"status": "BLOCKED"}}, token=admin.token)
    assert [e["node"]["lastName"] for e in blocked["users"]["edges"]] == ["Blocked"]
    both = await api.ok(
        USERS_PAGE, {"filter": {"status": "BLOCKED", "role": "DEMO"}}, token=admin.token
    )
    assert both["users"]["totalCount"] == 0


@pytest.fixture
async def sortable(sessionmaker: Maker) -> list[dict[str, Any]]:
    """Eight people whose names, emails, creation and login times all sort differently."""
    rng = random.Random(7)
    now = utcnow()
    emails, names, created = list(range(8)), list(range(8)), list(range(8))
    for values in (emails, names, created):
        rng.shuffle(values)
    rows = []
    for i in range(8):
        rows.append(
            {
                "email": f"sort{emails[i]:03d}@example.com",
                # Two people share a last name: the first name breaks the tie.
                "last_name": f"Name{min(names[i], 6):03d}",
                "first_name": f"First{names[i]:03d}",
                "created_at": now - timedelta(days=30 - created[i]),
                "last_login_at": None if i % 3 == 0 else now - timedelta(hours=i * 5 + 1),
            }
        )
    ids = await add_users(sessionmaker, rows)
    return [{"id": str(user_id), **row} for user_id, row in zip(ids, rows, strict=True)]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
@pytest.mark.parametrize("field", ["NAME", "EMAIL", "CREATED_AT", "LAST_LOGIN_AT"])
async def test_sorting(
    api: Api, admin: Person, sortable: list[dict[str, Any]], field: str, direction: str
) -> None:
    keys = {
        "NAME": lambda r: (r["last_name"], r["first_name"]),
        "EMAIL": lambda r: r["email"],
        "CREATED_AT": lambda r: r["created_at"],
        "LAST_LOGIN_AT": lambda r: r["last_login_at"],
    }
    key = keys[field]
    with_value = [r for r in sortable if key(r) is not None]
    without = [r for r in sortable if key(r) is None]
    ordered = sorted(with_value, key=key, reverse=direction == "DESC")
    # Missing values come last whatever the direction; ties keep the id order.
    expected = [r["id"] for r in ordered] + sorted(
        (r["id"] for r in without), key=lambda i: uuid.UUID(i)
    )
    # Walk two pages of 5 to prove the order is stable across pages.
    variables: dict[str, Any] = {
        "first": 5,
        "filter": {"role": "BASIC"},
        "order": {"field": field, "direction": direction},
    }
    got: list[str] = []
    while True:
        page = (await api.ok(USERS_PAGE, variables, token=admin.token))["users"]
        got += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = page["pageInfo"]["endCursor"]
    # Ties are broken by id: UUID order on PostgreSQL, the same order as hex text on SQLite.
    assert got == expected


# --- DataLoaders: the number of SQL statements does not grow with the rows -----------------------


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def reading(self, table: str) -> int:
        """How many statements selected from `table` (as the main FROM)."""
        return sum(1 for s in self.statements if f"\nFROM {table}" in s or f" FROM {table} " in s)


@pytest.fixture
def count_sql() -> Iterator[StatementCounter]:
    counter = StatementCounter()
    # Class-level: catches the statements of every engine, the app's own included.
    event.listen(Engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(Engine, "before_cursor_execute", counter)


async def _people_with_badges(sessionmaker: Maker, n: int, tag: str) -> None:
    ids = await add_users(
        sessionmaker,
        [
            {"email": f"{tag}{i:03d}@example.com", "first_name": "D", "last_name": f"{tag}{i:03d}"}
            for i in range(n)
        ],
    )
    async with sessionmaker() as session:
        for i, user_id in enumerate(ids):
            for k in range(2):
                session.add(RfidCard(uid=f"{tag.upper()}{i:03d}C{k}", user_id=user_id))
                session.add(
                    Vehicle(user_id=user_id, plate=f"{tag.upper()}-{i:03d}-{k}", is_default=k == 0)
                )
        await session.commit()


async def _sites_with_stations(sessionmaker: Maker, n: int, tag: str) -> None:
    async with sessionmaker() as session:
        for s in range(n):
            site = Site(name=f"{tag} site {s:02d}")
            session.add(site)
            await session.flush()
            for a in range(2):
                area = SiteArea(site_id=site.id, name=f"Area {a}", max_power_w=50_000)
                session.add(area)
                await session.flush()
                for c in range(2):
                    station = ChargingStation(
                        ocpp_identity=f"{tag}-{s}-{a}-{c}",
                        site_id=site.id,
                        site_area_id=area.id,
                        registration_status=RegistrationStatus.ACCEPTED,
                    )
                    session.add(station)
                    await session.flush()
                    for k in (1, 2):
                        session.add(
                            Connector(station_id=station.id, connector_id=k, status="Available")
                        )
        await session.commit()


USERS_WITH_RECORDS = """
{ users(first: 20, filter: {role: BASIC}) {
    edges { node { id rfidCards { uid } vehicles { plate } } } } }
"""
SITES_WITH_STATIONS = """
{ sites(first: 10) {
    edges { node { name siteAreas { name stations { ocppIdentity connectors { status } } } } } } }
"""


async def _statements_for(
    api: Api, counter: StatementCounter, query: str, token: str
) -> tuple[int, Any]:
    counter.statements.clear()
    data = await api.ok(query, token=token)
    return len(counter.statements), data


async def test_user_list_uses_a_constant_number_of_queries(
    api: Api, admin: Person, sessionmaker: Maker, count_sql: StatementCounter
) -> None:
    await _people_with_badges(sessionmaker, 2, "few")
    few, data = await _statements_for(api, count_sql, USERS_WITH_RECORDS, admin.token)
    assert len(data["users"]["edges"]) == 2

    await _people_with_badges(sessionmaker, 18, "many")
    many, data = await _statements_for(api, count_sql, USERS_WITH_RECORDS, admin.token)
    edges = data["users"]["edges"]
    assert len(edges) == 20
    assert all(len(e["node"]["rfidCards"]) == 2 and len(e["node"]["vehicles"]) == 2 for e in edges)
    assert many == few, count_sql.statements
    # The viewer lookup, the page, one batch of cards, one of vehicles: no per-row query.
    assert 4 <= many <= 8, count_sql.statements
    assert (count_sql.reading("rfid_cards"), count_sql.reading("vehicles")) == (1, 1)


async def test_site_tree_uses_a_constant_number_of_queries(
    api: Api, admin: Person, sessionmaker: Maker, count_sql: StatementCounter
) -> None:
    await _sites_with_stations(sessionmaker, 2, "A")
    few, data = await _statements_for(api, count_sql, SITES_WITH_STATIONS, admin.token)
    assert len(data["sites"]["edges"]) == 2

    await _sites_with_stations(sessionmaker, 8, "B")
    many, data = await _statements_for(api, count_sql, SITES_WITH_STATIONS, admin.token)
    sites = [e["node"] for e in data["sites"]["edges"]]
    assert len(sites) == 10
    statuses = [
        c["status"]
        for site in sites
        for area in site["siteAreas"]
        for station in area["stations"]
        for c in station["connectors"]
    ]
    assert len(statuses) == 10 * 2 * 2 * 2
    assert set(statuses) == {"Available"}
    assert many == few, count_sql.statements
    assert 5 <= many <= 9, count_sql.statements
    for table in ("sites", "site_areas", "charging_stations", "connectors"):
        assert count_sql.reading(table) == 1, (table, count_sql.statements)


# --- limits on operations ----------------------------------------------------------------------


def _deep_query(levels: int) -> str:
    """user → siteMemberships → site → members → edges → node → user → siteMemberships → ..."""
    chain = ["siteMemberships", "site", "members", "edges", "node", "user"]
    opening = [f'user(id: "{uuid.uuid4()}")']
    while len(opening) < levels - 1:
        opening.append(chain[(len(opening) - 1) % len(chain)])
    return "{ " + " { ".join(opening) + " { __typename " + "} " * len(opening) + "}"


async def test_depth_limit(api: Api, admin: Person, settings: Settings) -> None:
    deep = _deep_query(15)
    assert deep.count("{") == 15
    result = await api(deep, token=admin.token)
    assert result.get("data") is None
    [error] = result["errors"]
    assert f"exceeds maximum operation depth of {settings.graphql_max_depth}" in error["message"]

    # Within the limit, the same shape runs (the user does not exist: null, no error).
    allowed = await api.ok(_deep_query(settings.graphql_max_depth), token=admin.token)
    assert allowed == {"user": None}


async def test_token_limit(api: Api, settings: Settings) -> None:
    big = "{ " + " ".join(["__typename"] * (settings.graphql_max_tokens + 10)) + " }"
    result = await api(big)
    assert result.get("data") is None
    assert f"more than {settings.graphql_max_tokens} tokens" in result["errors"][0]["message"]
    small = "{ " + " ".join(["__typename"] * 100) + " }"
    assert await api.ok(small) == {"__typename": "Query"}


async def test_alias_limit(api: Api) -> None:
    many = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
    result = await api(many)
    assert result.get("data") is None
    assert "aliases" in result["errors"][0]["message"].lower()


# --- unexpected errors are masked ---------------------------------------------------------------


async def test_unexpected_server_error_is_masked_and_logged(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A database that cannot be opened: a real failure, not a caller's mistake.
    missing = tmp_path / "no" / "such" / "folder" / "db.sqlite3"
    broken = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{missing}"})
    transport = httpx.ASGITransport(app=create_app(broken))
    caplog.set_level(logging.ERROR, logger="vev_iq.graphql")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            "/graphql",
            json={"query": 'mutation { requestPasswordReset(email: "a@example.com") }'},
        )
    assert response.status_code == 200
    body = response.json()
    [error] = body["errors"]
    assert error["message"] == "Something went wrong on our side. It has been logged."
    assert error["path"] == ["requestPasswordReset"]
    assert "code" not in error.get("extensions", {})
    for leak in ("sqlite", "OperationalError", "unable to open", str(tmp_path), "SELECT"):
        assert leak not in response.text
    # ... while the details are in the server's log.
    logged = [r for r in caplog.records if r.name == "vev_iq.graphql"]
    assert logged and logged[0].exc_info is not None
    assert "unable to open database file" in str(logged[0].exc_info[1])


async def test_callers_mistakes_are_not_masked(api: Api, admin: Person) -> None:
    error = await api.error("{ nosuchfield }")
    assert "nosuchfield" in error["message"]
    error = await api.error('{ user(id: "x") { id } }', token=admin.token)
    assert error["message"] == "This is not a valid ID."


# --- pictures over the GraphQL multipart request spec -------------------------------------------


UPLOAD = """
mutation($file: Upload!, $user: ID) {
  uploadPicture(file: $file, userId: $user) { id pictureUrl }
}
"""


def _image(fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(out, format=fmt)
    return out.getvalue()


async def upload(
    client: httpx.AsyncClient,
    data: bytes,
    *,
    filename: str = "me.png",
    content_type: str = "image/png",
    headers: dict[str, str] | None = None,
    user_id: str | None = None,
) -> httpx.Response:
    operations = {"query": UPLOAD, "variables": {"file": None, "user": user_id}}
    return await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, data, content_type)},
        headers=headers or {},
    )


def bearer(person: Person) -> dict[str, str]:
    return {"authorization": f"Bearer {person.token}"}


async def test_upload_picture_and_serve_it_to_its_owner_only(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    owner = await make_user()
    response = await upload(client, _image("PNG"), headers=bearer(owner))
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    url = body["data"]["uploadPicture"]["pictureUrl"]
    assert url.startswith(f"/media/pictures/{owner.id}?v=")

    got = await client.get(url, headers=bearer(owner))
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/png"
    assert "private" in got.headers["cache-control"]
    with Image.open(io.BytesIO(got.content)) as image:
        assert (image.format, image.size) == ("PNG", (32, 24))

    admin = await make_user(Role.ADMIN)
    assert (await client.get(url, headers=bearer(admin))).status_code == 200
    for stranger in (await make_user(), await make_user(Role.DEMO)):
        assert (await client.get(url, headers=bearer(stranger))).status_code == 404
    client.cookies.clear()
    assert (await client.get(url)).status_code == 404
    assert (
        await client.get(f"/media/pictures/{uuid.uuid4()}", headers=bearer(admin))
    ).status_code == 404
    assert (
        await client.get("/media/pictures/not-a-uuid", headers=bearer(admin))
    ).status_code == 404

    # Replacing it changes the URL (browsers cache by it); the new picture is served.
    response = await upload(
        client, _image("JPEG"), filename="me.jpg", content_type="image/jpeg", headers=bearer(owner)
    )
    new_url = response.json()["data"]["uploadPicture"]["pictureUrl"]
    assert new_url != url
    got = await client.get(new_url, headers=bearer(owner))
    assert got.headers["content-type"] == "image/jpeg"


async def test_upload_refuses_what_is_not_a_picture(
    client: httpx.AsyncClient, make_user: Any, settings: Settings
) -> None:
    owner = await make_user()
    response = await upload(
        client, b"just some text\n" * 10, filename="cat.png", headers=bearer(owner)
    )
    error = response.json()["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "file")

    too_big = b"\x89PNG\r\n\x1a\n" + b"\0" * settings.max_picture_bytes
    response = await upload(client, too_big, headers=bearer(owner))
    error = response.json()["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "file")
    assert "too large" in error["message"]

    client.cookies.clear()
    response = await upload(client, _image())
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    other = await make_user()
    response = await upload(client, _image(), headers=bearer(other), user_id=str(owner.id))
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    data = (
        await client.post(
            "/graphql",
            json={"query": f'{{ user(id: "{owner.id}") {{ pictureUrl }} }}'},
            headers=bearer(owner),
        )
    ).json()
    assert data == {"data": {"user": {"pictureUrl": None}}}


# --- cross-origin requests ----------------------------------------------------------------------


async def test_cross_origin_post_with_a_cookie_is_refused(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    person = await make_user()
    query = {"query": "mutation { logOut }"}
    cookie = {"cookie": f"vev_session={person.token}"}
    client.cookies.clear()

    refused = await client.post(
        "/graphql", json=query, headers={**cookie, "origin": "https://evil.example"}
    )
    assert refused.status_code == 403
    assert refused.json() == {"errors": [{"message": "Cross-origin request refused."}]}
    # The session survived the forged logout.
    me = await client.post("/graphql", json={"query": "{ me { id } }"}, headers=cookie)
    assert me.json() == {"data": {"me": {"id": str(person.id)}}}

    # A forged picture upload is refused the same way.
    refused = await upload(client, _image(), headers={**cookie, "origin": "https://evil.example"})
    assert refused.status_code == 403

    # The app's own origin is fine, and so is a bearer token from anywhere (no ambient cookie).
    same = await client.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={**cookie, "origin": "http://testserver"},
    )
    assert same.json() == {"data": {"me": {"id": str(person.id)}}}
    elsewhere = await client.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={**bearer(person), "origin": "https://mobile.example"},
    )
    assert elsewhere.json() == {"data": {"me": {"id": str(person.id)}}}


# --- IDs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ('{ user(id: "not-a-uuid") { id } }', "id"),
        ('{ site(id: "42") { id } }', "id"),
        ('{ siteArea(id: "") { id } }', "id"),
        ('{ station(id: "1; DROP TABLE users") { id } }', "id"),
        ('{ rfidCards(userId: "zz") { totalCount } }', "userId"),
        ('{ vehicles(userId: "zz") { totalCount } }', "userId"),
        ('{ stations(filter: {siteId: "x"}) { totalCount } }', "siteId"),
        ('{ stations(filter: {siteAreaId: "x"}) { totalCount } }', "siteAreaId"),
        ('mutation { updateVehicle(id: "x", input: {plate: "A"}) { id } }', "id"),
        ('mutation { setRfidCardActive(id: "x", active: false) { id } }', "id"),
        ('mutation { deleteSite(id: "x") }', "id"),
        ('mutation { updateUser(id: "x", input: {role: BASIC}) { id } }', "id"),
        ('mutation { setSiteMember(siteId: "x", userId: "y", role: MEMBER) { role } }', "siteId"),
        (
            'mutation { createSiteArea(input: {siteId: "x", name: "A", maxPowerW: 22000}) { id } }',
            "siteId",
        ),
        ('mutation { addRfidCard(input: {uid: "AB", userId: "x"}) { id } }', "userId"),
        ('mutation { updateProfile(userId: "x", input: {phone: "1"}) { id } }', "userId"),
    ],
)
async def test_invalid_ids_are_bad_user_input(
    api: Api, admin: Person, query: str, field: str
) -> None:
    error = await api.error(query, token=admin.token)
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field)
    assert error["message"] == "This is not a valid ID."


async def test_unknown_but_valid_ids_are_null_or_not_found(api: Api, admin: Person) -> None:
    missing = str(uuid.uuid4())
    assert await api.ok(
        "query($id: ID!) { user(id: $id) { id } }", {"id": missing}, token=admin.token
    ) == {"user": None}
    error = await api.error(
        'mutation($id: ID!) { updateVehicle(id: $id, input: {plate: "A"}) { id } }',
        {"id": missing},
        token=admin.token,
    )
    assert error["code"] == "NOT_FOUND"
    # Site membership in a site that exists, for someone who does not.
    data = await api.ok('mutation { createSite(input: {name: "S"}) { id } }', token=admin.token)
    error = await api.error(
        "mutation($s: ID!, $u: ID!) {"
        " setSiteMember(siteId: $s, userId: $u, role: MEMBER) { role } }",
        {"s": data["createSite"]["id"], "u": missing},
        token=admin.token,
    )
    assert (error["code"], error["field"]) == ("NOT_FOUND", "userId")


async def test_site_admin_rights_over_the_api(api: Api, admin: Person, make_user: Any) -> None:
    created = await api.ok(
        'mutation { createSite(input: {name: "Mine"}) { id } }', token=admin.token
    )
    other = await api.ok(
        'mutation { createSite(input: {name: "Theirs"}) { id } }', token=admin.token
    )
    mine, theirs = uuid.UUID(created["createSite"]["id"]), uuid.UUID(other["createSite"]["id"])
    site_admin = await make_user(sites={mine: SiteRole.SITE_ADMIN})
    update = 'mutation($id: ID!) { updateSite(id: $id, input: {name: "Renamed"}) { name } }'
    assert await api.ok(update, {"id": str(mine)}, token=site_admin.token) == {
        "updateSite": {"name": "Renamed"}
    }
    error = await api.error(update, {"id": str(theirs)}, token=site_admin.token)
    assert error["code"] == "FORBIDDEN"


async def test_introspection_works_for_tools(api: Any) -> None:
    # GraphiQL and code generators read the schema; it is public (the project is open source).
    data = await api.ok("{ __schema { queryType { name } types { name fields { name } } } }")
    assert data["__schema"]["queryType"]["name"] == "Query"
    assert any(t["name"] == "User" for t in data["__schema"]["types"])
