"""Who may do what, proven field by field and generated from the schema itself.

- Every field of every object type has a policy entry (a new field without one fails here).
- Every root query is run by every role and compared with EXPECTED_QUERIES.
- Every field of User, RfidCard and Vehicle is read about one driver by every role: personal
  fields are visible to the person and admins, anonymized for demo users, hidden otherwise.
  A field not listed as non-personal below is treated as personal: the strictest expectation.
- Every root mutation is attempted by every role and compared with MUTATION_CASES.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from PIL import Image

from backend.graphql.policy import FIELD_RULES
from backend.graphql.schema import build_schema
from backend.settings import Settings
from tests.conftest import PASSWORD, Api, unique_email
from tests.graphql.world import ROLES, TARGET_FIELDS, World, build_world

SCHEMA = build_schema(Settings())._schema


def object_types() -> dict[str, GraphQLObjectType]:
    return {
        name: t
        for name, t in SCHEMA.type_map.items()
        if isinstance(t, GraphQLObjectType) and not name.startswith("__")
    }


def test_every_field_has_a_policy() -> None:
    missing = [
        f"{type_name}.{field}"
        for type_name, t in object_types().items()
        for field in t.fields
        if f"{type_name}.{field}" not in FIELD_RULES
    ]
    assert missing == [], f"fields without a policy entry: {missing}"


def test_policy_names_only_existing_fields() -> None:
    existing = {f"{n}.{f}" for n, t in object_types().items() for f in t.fields}
    assert set(FIELD_RULES) - existing == set()


@pytest.fixture
async def world(sessionmaker: Any, make_user: Any) -> World:
    return await build_world(sessionmaker, make_user)


def selection(type_: Any) -> str:
    named = get_named_type(type_)
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return ""
    if named.name.endswith("Connection"):
        return "{ totalCount edges { node { __typename } } }"
    if named.name == "PrivacyPolicy":
        return "{ version }"
    return "{ __typename }"


# --- root queries --------------------------------------------------------------------------------

DENY = "deny"  # an error: UNAUTHENTICATED or FORBIDDEN
NULL = "null"  # allowed, but the object is not visible to this viewer
OK = "ok"  # the object itself


def _query_args(world: World) -> dict[str, str]:
    return {
        "user": f'(id: "{world.target.id}")',
        "site": f'(id: "{world.site_a}")',
        "siteArea": f'(id: "{world.area_a}")',
        "station": f'(id: "{world.station_a}")',
        "rfidCards": "",
        "vehicles": "",
        "session": f'(id: "{world.session}")',
        "tariff": f'(id: "{world.tariff_b}")',
        "invoice": f'(id: "{world.invoice}")',
        "userPrivacy": f'(userId: "{world.target.id}")',
        "statistics": "(groupBy: SITE, period: MONTH)",
        "demandForecast": f'(siteId: "{world.site_a}")',
    }


_ALL_AUTH = {"anonymous": DENY, **{r: OK for r in ROLES if r != "anonymous"}}
# For list queries an int is the number of rows the viewer sees.
EXPECTED_QUERIES: dict[str, dict[str, Any]] = {
    "me": {"anonymous": NULL, **{r: OK for r in ROLES if r != "anonymous"}},
    "privacyPolicy": {r: OK for r in ROLES},
    "user": {
        "anonymous": DENY,
        "basic": NULL,
        "other": NULL,
        "demo": OK,
        "site_admin": OK,
        "admin": OK,
    },
    # admins and demo see all 6 people; the site admin sees the 3 members of site A.
    "users": {
        "anonymous": DENY,
        "basic": DENY,
        "other": DENY,
        "demo": 6,
        "site_admin": 3,
        "admin": 6,
    },
    "rfidCards": _ALL_AUTH,
    "vehicles": _ALL_AUTH,
    "site": {
        "anonymous": DENY,
        "basic": OK,
        "other": NULL,
        "demo": OK,
        "site_admin": OK,
        "admin": OK,
    },
    "sites": {"anonymous": DENY, "basic": 1, "other": 1, "demo": 2, "site_admin": 1, "admin": 2},
    "siteArea": {
        "anonymous": DENY,
        "basic": OK,
        "other": NULL,
        "demo": OK,
        "site_admin": OK,
        "admin": OK,
    },
    "station": {
        "anonymous": DENY,
        "basic": OK,
        "other": NULL,
        "demo": OK,
        "site_admin": OK,
        "admin": OK,
    },
    "stations": {"anonymous": DENY, "basic": 1, "other": 1, "demo": 2, "site_admin": 1, "admin": 2},
    # Badges nobody owns: administrators, and demo users (without the numbers).
    "unknownBadges": {
        "anonymous": DENY,
        "basic": DENY,
        "other": DENY,
        "demo": OK,
        "site_admin": DENY,
        "admin": OK,
    },
    # The target's session at station A: the driver themself (not in ROLES), the manager of
    # site A, admins and demo; a fellow member of site A does not see it.
    "session": {
        "anonymous": DENY,
        "basic": NULL,
        "other": NULL,
        "demo": OK,
        "site_admin": OK,
        "admin": OK,
    },
    # The target's two sessions at station A (one running, one invoiced).
    "sessions": {"anonymous": DENY, "basic": 0, "other": 0, "demo": 2, "site_admin": 2, "admin": 2},
    # Prices are public to drivers: the organization's tariff for everyone signed in, site B's
    # for its members (and admins, demo); site A's members and managers do not see B's.
    "tariffs": {"anonymous": DENY, "basic": 1, "other": 2, "demo": 2, "site_admin": 1, "admin": 2},
    "tariff": {
        "anonymous": DENY,
        "basic": NULL,
        "other": OK,
        "demo": OK,
        "site_admin": NULL,
        "admin": OK,
    },
    # The viewer's own payment method (this schema runs without Stripe: billing is off).
    "myPaymentMethod": _ALL_AUTH,
    # Invoices: one's own (nobody in ROLES has any); everyone's for admins and demo, those of
    # site A for its administrator; the target's invoice is seen like its session.
    "myInvoices": {"anonymous": DENY, **{r: 0 for r in ROLES if r != "anonymous"}},
    "invoices": {
        "anonymous": DENY,
        "basic": DENY,
        "other": DENY,
        "demo": 1,
        "site_admin": 1,
        "admin": 1,
    },
    "invoice": {
        "anonymous": DENY,
        "basic": NULL,
        "other": NULL,
        "demo": OK,
        "site_admin": OK,
        "admin": OK,
    },
    # Data rights of anyone: admins (and the data protection officer, who is not in ROLES: see
    # tests/privacy/test_dpo_permissions.py); demo users see none of it.
    "userPrivacy": {**dict.fromkeys(ROLES, DENY), "admin": OK},
    "erasureRequests": {**dict.fromkeys(ROLES, DENY), "admin": OK},
    # System logs (OCPP errors, security events, the audit log): administrators only.
    "systemLogs": {**dict.fromkeys(ROLES, DENY), "admin": OK},
    # Statistics of the sessions in one's scope, for everyone signed in (tests/statistics
    # checks what each sees); grouping by person is for admins and demo users.
    "statistics": _ALL_AUTH,
    # A site's demand forecast: admins, demo users and the site's administrators.
    "demandForecast": {
        "anonymous": DENY,
        "basic": DENY,
        "other": DENY,
        "demo": OK,
        "site_admin": OK,
        "admin": OK,
    },
}


def test_every_root_query_has_expectations() -> None:
    assert set(SCHEMA.query_type.fields) == set(EXPECTED_QUERIES)


async def test_root_queries(api: Api, world: World) -> None:
    args = _query_args(world)
    failures = []
    for name, field in SCHEMA.query_type.fields.items():
        query = f"{{ result: {name}{args.get(name, '')} {selection(field.type)} }}"
        for role in ROLES:
            result = await api(query, token=world.token(role))
            expected = EXPECTED_QUERIES[name][role]
            if result.get("errors"):
                got: Any = DENY
                codes = {e["extensions"]["code"] for e in result["errors"]}
                assert codes <= {"UNAUTHENTICATED", "FORBIDDEN"}, (name, role, result)
            elif result["data"]["result"] is None:
                got = NULL
            elif isinstance(expected, int):
                got = result["data"]["result"]["totalCount"]
            else:
                got = OK
            if got != expected:
                failures.append(f"{name} as {role}: expected {expected}, got {got}")
    assert failures == []


async def test_me_is_the_viewer(api: Api, world: World) -> None:
    for role in ROLES[1:]:
        person = world.people[role]
        assert person is not None
        data = await api.ok("{ me { id email } }", token=person.token)
        assert data["me"] == {"id": str(person.id), "email": person.email}


async def test_listing_someone_elses_cards(api: Api, world: World) -> None:
    query = "query($u: ID) { rfidCards(userId: $u) { totalCount } }"
    variables = {"u": str(world.target.id)}
    for role, expected in {
        "basic": "FORBIDDEN",
        "other": "FORBIDDEN",
        "site_admin": "FORBIDDEN",
        "demo": 1,
        "admin": 1,
    }.items():
        result = await api(query, variables, token=world.token(role))
        if isinstance(expected, int):
            assert result["data"]["rfidCards"]["totalCount"] == expected, role
        else:
            assert result["errors"][0]["extensions"]["code"] == expected, role


# --- personal fields ---------------------------------------------------------------------------

# Everything not named here is personal: only the person and admins see it, demo sees a pseudonym.
NON_PERSONAL = {
    "User": {
        "contact": {"email", "firstName", "lastName"},
        "account": {
            "id",
            "language",
            "role",
            "status",
            "emailVerified",
            "lastLoginAt",
            "createdAt",
            "siteMemberships",
        },
        "record": {"rfidCards", "vehicles"},
    },
    "RfidCard": {"record": {"id", "active", "createdAt", "user"}},
    # Who charged (user, idTag) is personal; the rest is the session's record, seen by its
    # driver, the managers of its site, admins and demo users.
    "ChargingSession": {
        "session": {
            "id",
            "station",
            "connector",
            "connectorId",
            "transactionId",
            "status",
            "startedAt",
            "stoppedAt",
            "durationS",
            "energyWh",
            "instantPowerW",
            "inactivityS",
            "stopReason",
            "curve",
            "tariff",
            "cost",
            "costCurve",
            "plannedSchedule",
            # The goal smart charging plans towards: the site's managers may set it too.
            "departureAt",
            "energyWantedWh",
            "billingState",
            "billingNote",
            "invoice",
            "refundedMinor",
            "refunds",
        }
    },
    "Vehicle": {
        "record": {
            "id",
            "make",
            "model",
            "batteryCapacityWh",
            "maxAcPowerW",
            "maxDcPowerW",
            "acPhases",
            "isDefault",
            "user",
        }
    },
}

REAL, ANON, HIDDEN = "real", "anonymized", "hidden"
VIEWERS = ("self", "basic", "other", "demo", "site_admin", "admin")
EXPECTED_BY_CATEGORY = {
    "personal": {
        "self": REAL,
        "basic": HIDDEN,
        "other": HIDDEN,
        "demo": ANON,
        "site_admin": HIDDEN,
        "admin": REAL,
    },
    "contact": {
        "self": REAL,
        "basic": HIDDEN,
        "other": HIDDEN,
        "demo": ANON,
        "site_admin": REAL,
        "admin": REAL,
    },
    "account": {
        "self": REAL,
        "basic": HIDDEN,
        "other": HIDDEN,
        "demo": REAL,
        "site_admin": REAL,
        "admin": REAL,
    },
    "session": {
        "self": REAL,
        "basic": HIDDEN,
        "other": HIDDEN,
        "demo": REAL,
        "site_admin": REAL,
        "admin": REAL,
    },
    # Cards and vehicles as records: the owner, admins and demo (whose identifying numbers
    # are anonymized field by field).
    "record": {
        "self": REAL,
        "basic": HIDDEN,
        "other": HIDDEN,
        "demo": REAL,
        "site_admin": HIDDEN,
        "admin": REAL,
    },
}


def category(type_name: str, field: str) -> str:
    for name, fields in NON_PERSONAL[type_name].items():
        if field in fields:
            return name
    return "personal"


def _paths(world: World) -> dict[str, Callable[[str], tuple[str, Callable[[Any], Any]]]]:
    """How each viewer reaches the target's objects, and where the value sits in the answer."""
    uid = str(world.target.id)

    def user(sel: str) -> tuple[str, Callable[[Any], Any]]:
        return f'{{ user(id: "{uid}") {{ {sel} }} }}', lambda d: d["user"]

    def card(sel: str) -> tuple[str, Callable[[Any], Any]]:
        return (
            f'{{ rfidCards(userId: "{uid}") {{ edges {{ node {{ {sel} }} }} }} }}',
            lambda d: d["rfidCards"]["edges"][0]["node"],
        )

    def vehicle(sel: str) -> tuple[str, Callable[[Any], Any]]:
        return (
            f'{{ vehicles(userId: "{uid}") {{ edges {{ node {{ {sel} }} }} }} }}',
            lambda d: d["vehicles"]["edges"][0]["node"],
        )

    def charging_session(sel: str) -> tuple[str, Callable[[Any], Any]]:
        return f'{{ session(id: "{world.session}") {{ {sel} }} }}', lambda d: d["session"]

    return {"User": user, "RfidCard": card, "Vehicle": vehicle, "ChargingSession": charging_session}


async def _read(api: Api, world: World, viewer: str, type_name: str, field: str) -> Any:
    token = world.target.token if viewer == "self" else world.token(viewer)
    field_type = object_types()[type_name].fields[field].type
    sub = selection(field_type)
    if type_name == "ChargingSession" and field == "user":
        sub = "{ lastName }"  # who charged: real, anonymized or hidden shows in their name
    query, locate = _paths(world)[type_name](f"{field} {sub}")
    result = await api(query, token=token)
    if result.get("errors"):
        codes = {e["extensions"]["code"] for e in result["errors"]}
        assert codes <= {"UNAUTHENTICATED", "FORBIDDEN"}, result
        return HIDDEN, None
    try:
        holder = locate(result["data"])
    except (TypeError, IndexError, KeyError):
        return HIDDEN, None  # the object itself is not visible to this viewer
    if holder is None:
        return HIDDEN, None
    return "value", holder[field]


@pytest.mark.parametrize("type_name", ["User", "RfidCard", "Vehicle", "ChargingSession"])
async def test_personal_fields(api: Api, world: World, type_name: str) -> None:
    failures = []
    for field in object_types()[type_name].fields:
        kind = category(type_name, field)
        _, truth = await _read(api, world, "admin", type_name, field)
        for viewer in VIEWERS:
            expected = EXPECTED_BY_CATEGORY[kind][viewer]
            status, value = await _read(api, world, viewer, type_name, field)
            if status == HIDDEN:
                got = HIDDEN
            elif value == truth:
                got = REAL
            elif value == (await _read(api, world, "admin", type_name, field))[1]:
                # A value that moves with the clock (a running session's duration) may have
                # ticked between the two reads: the truth read after it tells.
                got = REAL
            else:
                got = ANON
            # A personal value that is empty to begin with cannot tell real from anonymized.
            if expected == ANON and got == REAL and truth is None:
                got = ANON
            if got != expected:
                failures.append(f"{type_name}.{field} ({kind}) as {viewer}: {expected} != {got}")
    assert failures == []


async def test_target_fields_are_all_filled(api: Api, world: World) -> None:
    # The personal-field test is only meaningful if every personal field has a real value.
    data = await api.ok(
        f'{{ user(id: "{world.target.id}") {{ phone mobile pictureUrl address {{ city }} '
        "professionalId costCenter company department rfidCards { uid description } "
        "vehicles { plate vin } } }",
        token=world.token("admin"),
    )
    user = data["user"]
    assert all(value is not None for value in user.values()), user
    assert user["rfidCards"][0]["description"] and user["vehicles"][0]["vin"]
    assert len(TARGET_FIELDS) >= 12


async def test_demo_pseudonyms_are_stable_and_distinct(api: Api, world: World) -> None:
    query = "{ users(first: 50) { edges { node { id email firstName lastName phone } } } }"
    first = await api.ok(query, token=world.token("demo"))
    again = await api.ok(query, token=world.token("demo"))
    assert first == again
    demo = world.people["demo"]
    assert demo is not None
    others = [e["node"] for e in first["users"]["edges"] if e["node"]["id"] != str(demo.id)]
    assert len({n["email"] for n in others}) == len(others)
    for node in others:
        assert node["email"].endswith("@anonymized.invalid")
        assert node["phone"] is None
        assert "Hopper" not in json.dumps(node)


# --- root mutations -----------------------------------------------------------------------------

Case = tuple[str, Callable[[World, str], dict[str, Any]], dict[str, str]]
ADMIN_ONLY = {
    "anonymous": "UNAUTHENTICATED",
    "basic": "FORBIDDEN",
    "other": "FORBIDDEN",
    "demo": "FORBIDDEN",
    "site_admin": "FORBIDDEN",
    "admin": "ok",
}
MANAGERS = {**ADMIN_ONLY, "site_admin": "ok"}
OWNER_OR_ADMIN_HIDDEN = {
    **ADMIN_ONLY,
    **dict.fromkeys(("basic", "other", "demo", "site_admin"), "NOT_FOUND"),
}
EVERYONE = dict.fromkeys(ROLES, "ok")
SIGNED_IN = {**EVERYONE, "anonymous": "UNAUTHENTICATED"}


def _same(code: str) -> dict[str, str]:
    return dict.fromkeys(ROLES, code)


def _none(world: World, role: str) -> dict[str, Any]:
    return {}


def _target(world: World, role: str) -> dict[str, Any]:
    return {"user": str(world.target.id)}


def _card(world: World, role: str) -> dict[str, Any]:
    return {"id": str(world.card)}


def _vehicle(world: World, role: str) -> dict[str, Any]:
    return {"id": str(world.vehicle)}


def _site_a(world: World, role: str) -> dict[str, Any]:
    return {"site": str(world.site_a), "user": str(world.target.id)}


MUTATION_CASES: dict[str, list[Case]] = {
    "signUp": [
        (
            'mutation($e: String!) { r: signUp(input: {email: $e, password: "long enough pw 1", '
            'firstName: "A", lastName: "B", acceptedPolicyVersion: "2026-11"}) }',
            lambda w, r: {"e": unique_email(r)},
            EVERYONE,
        )
    ],
    "verifyEmail": [('mutation { r: verifyEmail(token: "nope") }', _none, _same("INVALID_TOKEN"))],
    "logIn": [
        (
            'mutation($e: String!) { r: logIn(input: {email: $e, password: "wrong password!"}) '
            "{ token } }",
            lambda w, r: {"e": w.target.email},
            _same("INVALID_CREDENTIALS"),
        )
    ],
    "logOut": [("mutation { r: logOut }", _none, EVERYONE)],
    "requestPasswordReset": [
        ('mutation { r: requestPasswordReset(email: "nobody@example.com") }', _none, EVERYONE)
    ],
    "resetPassword": [
        (
            'mutation { r: resetPassword(token: "nope", newPassword: "long enough pw 1") }',
            _none,
            _same("INVALID_TOKEN"),
        )
    ],
    "changePassword": [
        (
            'mutation { r: changePassword(currentPassword: "wrong!", '
            'newPassword: "long enough 2") }',
            _none,
            {**_same("BAD_USER_INPUT"), "anonymous": "UNAUTHENTICATED"},
        )
    ],
    "updateProfile": [
        ('mutation { r: updateProfile(input: {company: "ACME"}) { id } }', _none, SIGNED_IN),
        (
            'mutation($user: ID) { r: updateProfile(userId: $user, input: {company: "X"}) { id } }',
            _target,
            ADMIN_ONLY,
        ),
    ],
    "uploadPicture": [("UPLOAD", _target, ADMIN_ONLY)],
    "removePicture": [
        ("mutation($user: ID) { r: removePicture(userId: $user) { id } }", _target, ADMIN_ONLY)
    ],
    "createUser": [
        (
            'mutation($e: String!) { r: createUser(input: {email: $e, firstName: "N", '
            'lastName: "U", password: "long enough pw 1"}) { id } }',
            lambda w, r: {"e": unique_email(r)},
            ADMIN_ONLY,
        )
    ],
    "updateUser": [
        (
            "mutation($user: ID!) { r: updateUser(id: $user, input: {status: ACTIVE}) { id } }",
            _target,
            ADMIN_ONLY,
        )
    ],
    "addRfidCard": [
        (
            "mutation($u: String!) { r: addRfidCard(input: {uid: $u}) { id } }",
            lambda w, r: {"u": uuid.uuid4().hex[:12]},
            SIGNED_IN,
        ),
        (
            "mutation($u: String!, $user: ID) { r: addRfidCard(input: {uid: $u, userId: $user}) "
            "{ id } }",
            lambda w, r: {"u": uuid.uuid4().hex[:12], "user": str(w.target.id)},
            ADMIN_ONLY,
        ),
    ],
    "setRfidCardActive": [
        (
            "mutation($id: ID!) { r: setRfidCardActive(id: $id, active: false) { id } }",
            _card,
            OWNER_OR_ADMIN_HIDDEN,
        )
    ],
    "deleteRfidCard": [
        ("mutation($id: ID!) { r: deleteRfidCard(id: $id) }", _card, OWNER_OR_ADMIN_HIDDEN)
    ],
    "createVehicle": [
        (
            'mutation($user: ID) { r: createVehicle(userId: $user, input: {plate: "ZZ-999-ZZ"}) '
            "{ id } }",
            _target,
            ADMIN_ONLY,
        )
    ],
    "updateVehicle": [
        (
            'mutation($id: ID!) { r: updateVehicle(id: $id, input: {plate: "AB-123-CD", make: "R"})'
            " { id } }",
            _vehicle,
            OWNER_OR_ADMIN_HIDDEN,
        )
    ],
    "deleteVehicle": [
        ("mutation($id: ID!) { r: deleteVehicle(id: $id) }", _vehicle, OWNER_OR_ADMIN_HIDDEN)
    ],
    "setDefaultVehicle": [
        (
            "mutation($id: ID!) { r: setDefaultVehicle(id: $id) { id } }",
            _vehicle,
            OWNER_OR_ADMIN_HIDDEN,
        )
    ],
    "createSite": [('mutation { r: createSite(input: {name: "New"}) { id } }', _none, ADMIN_ONLY)],
    "updateSite": [
        (
            'mutation($site: ID!) { r: updateSite(id: $site, input: {name: "A2"}) { id } }',
            _site_a,
            MANAGERS,
        )
    ],
    "deleteSite": [
        (
            "mutation($id: ID!) { r: deleteSite(id: $id) }",
            lambda w, r: {"id": str(w.site_b)},
            ADMIN_ONLY,
        )
    ],
    "setSiteMember": [
        (
            "mutation($site: ID!, $user: ID!) { r: setSiteMember(siteId: $site, userId: $user, "
            "role: MEMBER) { role } }",
            _site_a,
            MANAGERS,
        )
    ],
    "removeSiteMember": [
        (
            "mutation($site: ID!, $user: ID!) { "
            "r: removeSiteMember(siteId: $site, userId: $user) }",
            _site_a,
            MANAGERS,
        )
    ],
    "addSiteMemberByEmail": [
        (
            "mutation($site: ID!, $e: String!) { "
            "r: addSiteMemberByEmail(siteId: $site, email: $e, role: MEMBER) { role } }",
            lambda w, r: {"site": str(w.site_a), "e": w.target.email},
            MANAGERS,
        )
    ],
    "createSiteArea": [
        (
            'mutation($site: ID!) { r: createSiteArea(input: {siteId: $site, name: "N", '
            "maxPowerW: 22000}) { id } }",
            _site_a,
            MANAGERS,
        )
    ],
    "updateSiteArea": [
        (
            "mutation($id: ID!, $site: ID!) { r: updateSiteArea(id: $id, input: {siteId: $site, "
            'name: "N", maxPowerW: 22000}) { id } }',
            lambda w, r: {"id": str(w.area_a), "site": str(w.site_a)},
            MANAGERS,
        )
    ],
    "deleteSiteArea": [
        (
            "mutation($id: ID!) { r: deleteSiteArea(id: $id) }",
            lambda w, r: {"id": str(w.area_b)},
            ADMIN_ONLY,
        )
    ],
    "createStation": [
        (
            "mutation($i: String!, $area: ID) { r: createStation(input: {ocppIdentity: $i, "
            "siteAreaId: $area}) { id } }",
            lambda w, r: {"i": f"NEW-{uuid.uuid4().hex[:6]}", "area": str(w.area_a)},
            MANAGERS,
        )
    ],
    "updateStation": [
        (
            "mutation($id: ID!, $area: ID) { r: updateStation(id: $id, input: "
            '{ocppIdentity: "CS-A", siteAreaId: $area, description: "d"}) { id } }',
            lambda w, r: {"id": str(w.station_a), "area": str(w.area_a)},
            MANAGERS,
        )
    ],
    "updateConnector": [
        (
            'mutation($id: ID!) { r: updateConnector(id: $id, input: {type: "Type2", '
            "maxPowerW: 22000, phases: 3}) { id } }",
            lambda w, r: {"id": str(w.connectors[0])},
            MANAGERS,
        )
    ],
    "deleteStation": [
        (
            "mutation($id: ID!) { r: deleteStation(id: $id) }",
            lambda w, r: {"id": str(w.station_b)},
            ADMIN_ONLY,
        )
    ],
}


# Commands to station A (not connected): its managers pass the rights check and learn that the
# station is offline; a member of site A sees it but may not command it; others do not see it.
COMMAND_ON_A = {
    "anonymous": "UNAUTHENTICATED",
    "basic": "FORBIDDEN",
    "other": "NOT_FOUND",
    "demo": "FORBIDDEN",
    "site_admin": "STATION_OFFLINE",
    "admin": "STATION_OFFLINE",
}
_NO_SUCH = {**_same("NOT_FOUND"), "anonymous": "UNAUTHENTICATED"}


def _station_a(world: World, role: str) -> dict[str, Any]:
    return {"s": str(world.station_a)}


_PROFILE = (
    "{id: 1, purpose: TX_DEFAULT_PROFILE, rateUnit: A, periods: [{startPeriodS: 0, limit: 16}]}"
)
_COMMANDS: dict[str, str] = {
    "resetStation": "resetStation(stationId: $s, type: HARD) { status }",
    "unlockConnector": "unlockConnector(stationId: $s, connectorId: 1) { status }",
    "changeAvailability": "changeAvailability(stationId: $s, operative: false) { status }",
    "getConfiguration": 'getConfiguration(stationId: $s, keys: ["HeartbeatInterval"]) { status }',
    "changeConfiguration": 'changeConfiguration(stationId: $s, key: "K", value: "V") { status }',
    "triggerMessage": "triggerMessage(stationId: $s, message: HEARTBEAT) { status }",
    "clearCache": "clearCache(stationId: $s) { status }",
    "updateFirmware": 'updateFirmware(stationId: $s, location: "https://fw.example/1.bin", '
    'retrieveAt: "2030-01-01T00:00:00Z") { status }',
    "setChargingProfile": f"setChargingProfile(stationId: $s, connectorId: 1, profile: {_PROFILE})"
    " { status }",
    "clearChargingProfile": "clearChargingProfile(stationId: $s, profileId: 1) { status }",
    "getCompositeSchedule": "getCompositeSchedule(stationId: $s, connectorId: 1, durationS: 3600)"
    " { status }",
}
MUTATION_CASES.update(
    {
        name: [(f"mutation($s: ID!) {{ r: {call} }}", _station_a, COMMAND_ON_A)]
        for name, call in _COMMANDS.items()
    }
)
MUTATION_CASES.update(
    {
        # With the driver's card: their site's admin may start for them; a fellow member may not
        # use someone else's card; a member of another site does not see the station.
        "remoteStart": [
            (
                "mutation($s: ID!, $c: ID) { r: remoteStart(stationId: $s, connectorId: 1, "
                "cardId: $c) { status } }",
                lambda w, r: {"s": str(w.station_a), "c": str(w.card)},
                {**COMMAND_ON_A, "basic": "NOT_FOUND"},
            )
        ],
        "remoteStop": [
            (
                "mutation($id: ID!) { r: remoteStop(sessionId: $id) { status } }",
                lambda w, r: {"id": str(uuid.uuid4())},
                _NO_SUCH,
            )
        ],
        "acceptStation": [
            (
                "mutation($id: ID!) { r: acceptStation(stationId: $id) { id } }",
                lambda w, r: {"id": str(w.station_b)},
                ADMIN_ONLY,
            )
        ],
        "rejectStation": [
            (
                "mutation($id: ID!) { r: rejectStation(stationId: $id) { id } }",
                lambda w, r: {"id": str(w.station_b)},
                ADMIN_ONLY,
            )
        ],
        "setStationPassword": [
            ("mutation($s: ID!) { r: setStationPassword(stationId: $s) }", _station_a, MANAGERS)
        ],
        "createRegistrationToken": [
            (
                "mutation($a: ID!) { r: createRegistrationToken(siteAreaId: $a) { token } }",
                lambda w, r: {"a": str(w.area_a)},
                MANAGERS,
            )
        ],
        "revokeRegistrationToken": [
            (
                "mutation($id: ID!) { r: revokeRegistrationToken(id: $id) }",
                lambda w, r: {"id": str(uuid.uuid4())},
                _NO_SUCH,
            )
        ],
    }
)


_TARIFF = (
    '{name: "T", currency: "EUR", vatPercent: "20", scope: $scope, targetId: $target, '
    'elements: [{priceComponents: [{type: ENERGY, price: "0.25"}]}]}'
)
# Site B's tariff: a member of B sees it but may not change it; site A's people do not see it.
_TARIFF_B = {
    **ADMIN_ONLY,
    "basic": "NOT_FOUND",
    "site_admin": "NOT_FOUND",
}
MUTATION_CASES.update(
    {
        "createTariff": [
            (
                f"mutation($scope: TariffScope!, $target: ID) {{ r: createTariff(input: {_TARIFF})"
                " { id } }",
                lambda w, r: {"scope": "SITE", "target": str(w.site_a)},
                MANAGERS,
            ),
            (
                f"mutation($scope: TariffScope!, $target: ID) {{ r: createTariff(input: {_TARIFF})"
                " { id } }",
                lambda w, r: {"scope": "ORGANIZATION", "target": None},
                ADMIN_ONLY,
            ),
        ],
        "updateTariff": [
            (
                "mutation($id: ID!, $scope: TariffScope!, $target: ID) { "
                f"r: updateTariff(id: $id, input: {_TARIFF}) {{ id }} }}",
                lambda w, r: {"id": str(w.tariff_b), "scope": "SITE", "target": str(w.site_b)},
                _TARIFF_B,
            )
        ],
        "retireTariff": [
            (
                "mutation($id: ID!) { r: retireTariff(id: $id) { id } }",
                lambda w, r: {"id": str(w.tariff_b)},
                _TARIFF_B,
            )
        ],
        # A computation: anyone signed in, on a tariff they may read.
        "previewTariff": [
            (
                "mutation($id: ID) { r: previewTariff(tariffId: $id, profile: {startedAt: "
                '"2026-03-04T10:00:00Z", durationMinutes: 60, energyWh: 10000}) { totalInclVat } }',
                lambda w, r: {"id": str(w.tariff_org)},
                SIGNED_IN,
            )
        ],
    }
)


# The target's active session at station A: the driver (not in ROLES, see
# tests/load_management/test_goal_api.py), the manager of site A and admins may set its goal;
# demo users see the session but may not change it; members who do not see it get NOT_FOUND.
MUTATION_CASES["updateSessionGoal"] = [
    (
        "mutation($id: ID!) { r: updateSessionGoal(sessionId: $id, departureAt: "
        '"2099-01-01T00:00:00Z", energyWantedWh: 20000) { id } }',
        lambda w, r: {"id": str(w.session)},
        {
            "anonymous": "UNAUTHENTICATED",
            "basic": "NOT_FOUND",
            "other": "NOT_FOUND",
            "demo": "FORBIDDEN",
            "site_admin": "ok",
            "admin": "ok",
        },
    )
]


# The viewer's own payment method. Without a payment provider (as here) a setup is refused as
# PAYMENTS_UNAVAILABLE; demo accounts may never open a customer at the provider. The flows with
# Stripe on are in tests/payments.
MUTATION_CASES["startPaymentMethodSetup"] = [
    (
        "mutation { r: startPaymentMethodSetup { clientSecret } }",
        _none,
        {
            **_same("PAYMENTS_UNAVAILABLE"),
            "anonymous": "UNAUTHENTICATED",
            "demo": "FORBIDDEN",
        },
    )
]
MUTATION_CASES["refreshPaymentMethod"] = [
    ("mutation { r: refreshPaymentMethod { billingEnabled } }", _none, SIGNED_IN)
]


# Refunding the target's invoiced session at station A: admins and site A's administrator;
# demo users see it but may not; members who do not see the session get NOT_FOUND.
MUTATION_CASES["refundSession"] = [
    (
        'mutation($id: ID!) { r: refundSession(sessionId: $id, amountMinor: 100, reason: "Fault")'
        " { state } }",
        lambda w, r: {"id": str(w.billed_session)},
        {
            "anonymous": "UNAUTHENTICATED",
            "basic": "NOT_FOUND",
            "other": "NOT_FOUND",
            "demo": "FORBIDDEN",
            "site_admin": "ok",
            "admin": "ok",
        },
    )
]


# Data rights: one's own (every role, demo included, has them), anyone's for admins (and the
# data protection officer: tests/privacy/test_dpo_permissions.py). The target has not asked to
# be erased, so even an admin's confirmation is refused (the whole flow: tests/privacy).
MUTATION_CASES.update(
    {
        "setPrivacyPreferences": [
            (
                "mutation { r: setPrivacyPreferences(input: {excludeFromAnalytics: true}) "
                "{ excludeFromAnalytics } }",
                _none,
                SIGNED_IN,
            ),
            (
                "mutation($user: ID) { r: setPrivacyPreferences(userId: $user, input: "
                "{nonessentialNotifications: false}) { nonessentialNotifications } }",
                _target,
                ADMIN_ONLY,
            ),
        ],
        "objectTo": [
            ("mutation { r: objectTo(purpose: ANALYTICS) { objections } }", _none, SIGNED_IN),
            (
                "mutation($user: ID) { r: objectTo(userId: $user, purpose: DEMAND_PREDICTION) "
                "{ objections } }",
                _target,
                ADMIN_ONLY,
            ),
        ],
        "requestErasure": [
            ("mutation { r: requestErasure { erasureRequestedAt } }", _none, SIGNED_IN),
            (
                "mutation($user: ID) { r: requestErasure(userId: $user) { erasureRequestedAt } }",
                _target,
                ADMIN_ONLY,
            ),
        ],
        "cancelErasureRequest": [
            ("mutation { r: cancelErasureRequest { erasureRequestedAt } }", _none, SIGNED_IN)
        ],
        "confirmErasure": [
            (
                "mutation($user: ID!) { r: confirmErasure(userId: $user) { pseudonym } }",
                _target,
                {**ADMIN_ONLY, "admin": "CONFLICT"},
            )
        ],
        "withdrawConsent": [
            ("mutation { r: withdrawConsent }", _none, SIGNED_IN),
            ("mutation($user: ID) { r: withdrawConsent(userId: $user) }", _target, ADMIN_ONLY),
        ],
    }
)


def test_every_mutation_has_cases() -> None:
    assert set(SCHEMA.mutation_type.fields) == set(MUTATION_CASES)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def _upload(api: Api, variables: dict[str, Any], token: str | None) -> dict[str, Any]:
    operations = {
        "query": "mutation($file: Upload!, $user: ID) { "
        "r: uploadPicture(file: $file, userId: $user) { id } }",
        "variables": {"file": None, **variables},
    }
    response = await api.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("p.png", _png(), "image/png")},
        headers={"authorization": f"Bearer {token}"} if token else {},
    )
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("mutation", sorted(MUTATION_CASES))
async def test_mutations(api: Api, sessionmaker: Any, make_user: Any, mutation: str) -> None:
    failures = []
    for query, make_vars, expected in MUTATION_CASES[mutation]:
        # Each role acts on a fresh world, so an allowed deletion cannot hide a later refusal.
        for role in ROLES:
            async with sessionmaker() as session:
                from backend.db.base import Base

                for table in reversed(Base.metadata.sorted_tables):
                    await session.execute(table.delete())
                await session.commit()
            world = await build_world(sessionmaker, make_user)
            variables = make_vars(world, role)
            if query == "UPLOAD":
                result = await _upload(api, variables, world.token(role))
            else:
                result = await api(query, variables, token=world.token(role))
            got = (
                result["errors"][0]
                .get("extensions", {})
                .get("code", result["errors"][0]["message"])
                if result.get("errors")
                else "ok"
            )
            if got != expected[role]:
                failures.append(
                    f"{mutation} as {role}: expected {expected[role]}, got {got} {result}"
                )
    assert failures == []


def test_password_constant_is_long_enough() -> None:
    assert len(PASSWORD) >= 10
