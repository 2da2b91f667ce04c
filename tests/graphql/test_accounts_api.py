"""The account flows over GraphQL and HTTP, as the web app and mobile clients use them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.app import create_app
from backend.db.models import ConsentRecord, Role, User, UserStatus
from backend.settings import Settings
from tests.conftest import PASSWORD, Api, MailBox, unique_email

NEW_PASSWORD = "a brand new passphrase 42"

SIGN_UP = """
mutation($input: SignUpInput!) { signUp(input: $input) }
"""
VERIFY = "mutation($token: String!) { verifyEmail(token: $token) }"
LOG_IN = """
mutation($email: String!, $password: String!, $policy: String) {
  logIn(input: {email: $email, password: $password, acceptedPolicyVersion: $policy}) {
    token expiresAt
  }
}
"""
LOG_OUT = "mutation { logOut }"
ME = "{ me { id email firstName role status emailVerified } }"
REQUEST_RESET = "mutation($email: String!) { requestPasswordReset(email: $email) }"
RESET = "mutation($token: String!, $pw: String!) { resetPassword(token: $token, newPassword: $pw) }"
CHANGE = """
mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new)
}
"""


def sign_up_input(email: str, settings: Settings, **overrides: Any) -> dict[str, Any]:
    return {
        "input": {
            "email": email,
            "password": PASSWORD,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "acceptedPolicyVersion": settings.privacy_policy_version,
            "language": "FR",
            **overrides,
        }
    }


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )


def session_cookie_header(response: httpx.Response) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith("vev_session=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


@pytest.fixture
async def jarless(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose cookie jar is emptied before each request that matters, so that every
    request says exactly what it carries."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> Any:
    client.cookies.clear()
    response = await post(client, ME, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]["me"]


# --- the whole flow ----------------------------------------------------------------------------


async def test_sign_up_verify_log_in_cookie_and_bearer_then_log_out(
    api: Api, jarless: httpx.AsyncClient, mailbox: MailBox, settings: Settings, sessionmaker: Any
) -> None:
    address = unique_email("flow")
    assert await api.ok(SIGN_UP, sign_up_input(address, settings)) == {"signUp": True}

    # The verification mail really went out, in the chosen language.
    [message] = mailbox.to(address)
    assert message["Subject"] == "Confirmez votre compte VEV-IQ"
    token = mailbox.last_token(address, "/verify-email")

    error = await api.error(LOG_IN, {"email": address, "password": PASSWORD})
    assert error["code"] == "EMAIL_NOT_VERIFIED"

    assert await api.ok(VERIFY, {"token": token}) == {"verifyEmail": True}
    error = await api.error(VERIFY, {"token": token})
    assert error["code"] == "INVALID_TOKEN"

    # Consent was ticked at sign-up: it is on record, and the first login needs no second tick.
    async with sessionmaker() as session:
        versions = list(
            await session.scalars(
                select(ConsentRecord.policy_version)
                .join(User, User.id == ConsentRecord.user_id)
                .where(User.email == address)
            )
        )
    assert versions == [settings.privacy_policy_version]

    response = await post(jarless, LOG_IN, {"email": address.upper(), "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert not body.get("errors"), body
    token = body["data"]["logIn"]["token"]
    assert body["data"]["logIn"]["expiresAt"]

    cookie = session_cookie_header(response)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert attributes[0] == f"vev_session={token}".lower()
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/" in attributes
    assert any(a.startswith("expires=") for a in attributes)

    by_cookie = await me(jarless, {"cookie": f"vev_session={token}"})
    by_bearer = await me(jarless, {"authorization": f"Bearer {token}"})
    assert by_cookie == by_bearer
    assert by_cookie["email"] == address
    assert (by_cookie["role"], by_cookie["status"], by_cookie["emailVerified"]) == (
        "BASIC",
        "ACTIVE",
        True,
    )
    assert await me(jarless, {}) is None

    # Logging out (here with the cookie) revokes the session and clears the cookie.
    jarless.cookies.clear()
    response = await post(jarless, LOG_OUT, headers={"cookie": f"vev_session={token}"})
    assert response.json() == {"data": {"logOut": True}}
    cleared = session_cookie_header(response).lower()
    assert cleared.startswith('vev_session="";') or cleared.startswith("vev_session=;")
    assert "max-age=0" in cleared
    assert await me(jarless, {"cookie": f"vev_session={token}"}) is None
    assert await me(jarless, {"authorization": f"Bearer {token}"}) is None


async def test_log_in_returns_the_logged_in_user(api: Api, make_user: Any) -> None:
    person = await make_user()
    data = await api.ok(
        "mutation($e: String!, $p: String!) {"
        " logIn(input: {email: $e, password: $p}) { token user { id email } } }",
        {"e": person.email, "p": PASSWORD},
    )
    assert data["logIn"]["user"] == {"id": str(person.id), "email": person.email}


async def test_first_login_of_an_admin_created_account_asks_for_consent(
    api: Api, mailbox: MailBox, make_user: Any, settings: Settings
) -> None:
    admin = await make_user(Role.ADMIN)
    address = unique_email("invited")
    created = await api.ok(
        'mutation($e: String!) { createUser(input: {email: $e, firstName: "Grace",'
        ' lastName: "Hopper"}) { id email status } }',
        {"e": address},
        token=admin.token,
    )
    assert created["createUser"]["status"] == "ACTIVE"

    # The welcome mail lets the person choose a password.
    welcome = mailbox.last_token(address, "/reset-password")
    assert await api.ok(RESET, {"token": welcome, "pw": NEW_PASSWORD}) == {"resetPassword": True}

    error = await api.error(LOG_IN, {"email": address, "password": NEW_PASSWORD})
    assert error["code"] == "CONSENT_REQUIRED"
    assert error["policyVersion"] == settings.privacy_policy_version
    assert error["field"] == "acceptedPolicyVersion"
    error = await api.error(
        LOG_IN, {"email": address, "password": NEW_PASSWORD, "policy": "1999-01"}
    )
    assert error["code"] == "CONSENT_REQUIRED"

    policy = await api.ok("{ privacyPolicy(language: FR) { version text } }")
    assert policy["privacyPolicy"]["version"] == settings.privacy_policy_version
    assert policy["privacyPolicy"]["text"]
    data = await api.ok(
        LOG_IN,
        {"email": address, "password": NEW_PASSWORD, "policy": policy["privacyPolicy"]["version"]},
    )
    viewer = await api.ok(ME, token=data["logIn"]["token"])
    assert viewer["me"]["id"] == created["createUser"]["id"]


async def test_a_new_policy_version_asks_every_user_again(
    api: Api, make_user: Any, settings: Settings
) -> None:
    person = await make_user()
    assert (await api.ok(ME, token=person.token))["me"]["id"] == str(person.id)

    new_settings = settings.model_copy(update={"privacy_policy_version": "2027-01"})
    transport = httpx.ASGITransport(app=create_app(new_settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        new_api = Api(client)
        assert (await new_api.ok(ME, token=person.token))["me"] is None
        policy = await new_api.ok("{ privacyPolicy { version } }")
        assert policy == {"privacyPolicy": {"version": "2027-01"}}
        error = await new_api.error(LOG_IN, {"email": person.email, "password": PASSWORD})
        assert (error["code"], error["policyVersion"]) == ("CONSENT_REQUIRED", "2027-01")
        data = await new_api.ok(
            LOG_IN, {"email": person.email, "password": PASSWORD, "policy": "2027-01"}
        )
        assert (await new_api.ok(ME, token=data["logIn"]["token"]))["me"]["id"] == str(person.id)


# --- errors a client must handle ---------------------------------------------------------------


async def test_sign_up_errors(api: Api, mailbox: MailBox, settings: Settings) -> None:
    address = unique_email("errors")
    error = await api.error(SIGN_UP, sign_up_input("nope", settings))
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "email")
    error = await api.error(SIGN_UP, sign_up_input(address, settings, password="short"))
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "password")
    error = await api.error(SIGN_UP, sign_up_input(address, settings, firstName=" "))
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "firstName")
    error = await api.error(
        SIGN_UP, sign_up_input(address, settings, acceptedPolicyVersion="2001-01")
    )
    assert error["code"] == "CONSENT_REQUIRED"
    assert error["policyVersion"] == settings.privacy_policy_version
    assert mailbox.messages == []

    await api.ok(SIGN_UP, sign_up_input(address, settings))
    # The same answer for an address that has an account: signing up tells no one who has one.
    assert await api.ok(SIGN_UP, sign_up_input(address.upper(), settings)) == {"signUp": True}
    assert len(mailbox.to(address)) == 2


async def test_login_errors_and_lockout(
    api: Api, make_user: Any, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    person = await make_user()
    unknown = await api.error(LOG_IN, {"email": unique_email("ghost"), "password": PASSWORD})
    wrong = await api.error(LOG_IN, {"email": person.email, "password": "wrong password!"})
    assert unknown == wrong
    assert wrong["code"] == "INVALID_CREDENTIALS"

    for _ in range(settings.login_max_failures - 2):
        error = await api.error(LOG_IN, {"email": person.email, "password": "wrong password!"})
        assert error["code"] == "INVALID_CREDENTIALS"
    error = await api.error(LOG_IN, {"email": person.email, "password": "wrong password!"})
    assert error["code"] == "ACCOUNT_LOCKED"
    assert 0 < error["retryAfterSeconds"] <= settings.login_lockout_minutes * 60
    error = await api.error(LOG_IN, {"email": person.email, "password": PASSWORD})
    assert error["code"] == "ACCOUNT_LOCKED"

    # An administrator may lift the lock at once.
    admin = await make_user(Role.ADMIN)
    await api.ok(
        "mutation($id: ID!) { updateUser(id: $id, input: {status: ACTIVE}) { status } }",
        {"id": str(person.id)},
        token=admin.token,
    )
    await api.ok(LOG_IN, {"email": person.email, "password": PASSWORD})

    async with sessionmaker() as session:
        await session.execute(
            update(User).where(User.id == person.id).values(status=UserStatus.BLOCKED)
        )
        await session.commit()
    error = await api.error(LOG_IN, {"email": person.email, "password": PASSWORD})
    assert (error["code"], error["status"]) == ("ACCOUNT_NOT_ACTIVE", "BLOCKED")


async def test_password_reset_over_the_api(api: Api, mailbox: MailBox, make_user: Any) -> None:
    person = await make_user()
    ghost = unique_email("ghost")
    assert await api.ok(REQUEST_RESET, {"email": ghost}) == {"requestPasswordReset": True}
    assert await api.ok(REQUEST_RESET, {"email": "not an email"}) == {"requestPasswordReset": True}
    assert mailbox.messages == []  # same answer, no mail: nothing to learn about who exists

    assert await api.ok(REQUEST_RESET, {"email": person.email}) == {"requestPasswordReset": True}
    token = mailbox.last_token(person.email, "/reset-password")

    error = await api.error(RESET, {"token": token, "pw": "short"})
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "newPassword")
    # The failed attempt did not use the link up.
    assert await api.ok(RESET, {"token": token, "pw": NEW_PASSWORD}) == {"resetPassword": True}
    error = await api.error(RESET, {"token": token, "pw": "another passphrase 9"})
    assert error["code"] == "INVALID_TOKEN"
    error = await api.error(RESET, {"token": "made-up", "pw": "another passphrase 9"})
    assert error["code"] == "INVALID_TOKEN"

    # Every session ended with the reset; the new password works.
    assert (await api.ok(ME, token=person.token))["me"] is None
    error = await api.error(LOG_IN, {"email": person.email, "password": PASSWORD})
    assert error["code"] == "INVALID_CREDENTIALS"
    await api.ok(LOG_IN, {"email": person.email, "password": NEW_PASSWORD})


async def test_change_password_over_the_api(api: Api, make_user: Any) -> None:
    person = await make_user()
    error = await api.error(CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD})
    assert error["code"] == "UNAUTHENTICATED"
    error = await api.error(
        CHANGE, {"current": "wrong one", "new": NEW_PASSWORD}, token=person.token
    )
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "currentPassword")
    other = (await api.ok(LOG_IN, {"email": person.email, "password": PASSWORD}))["logIn"]["token"]

    data = await api.ok(CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}, token=person.token)
    assert data == {"changePassword": True}
    assert (await api.ok(ME, token=person.token))["me"]["id"] == str(person.id)
    assert (await api.ok(ME, token=other))["me"] is None


async def test_invalid_token_code(api: Api) -> None:
    for query, variables in (
        (VERIFY, {"token": "nope"}),
        (VERIFY, {"token": ""}),
        (RESET, {"token": "nope", "pw": NEW_PASSWORD}),
    ):
        error = await api.error(query, variables)
        assert error["code"] == "INVALID_TOKEN"
        assert "invalid" in error["message"].lower()


async def test_failed_logins_from_one_address_are_limited(
    make_user: Any, settings: Settings, mailbox: MailBox
) -> None:
    person = await make_user()
    strict = settings.model_copy(update={"throttle_failed_logins": 2, "throttle_emails": 1})
    transport = httpx.ASGITransport(app=create_app(strict), client=("203.0.113.7", 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        api = Api(client)
        for _ in range(2):
            error = await api.error(LOG_IN, {"email": person.email, "password": "guess"})
            assert error["code"] == "INVALID_CREDENTIALS"
        error = await api.error(LOG_IN, {"email": person.email, "password": PASSWORD})
        assert error["code"] == "TOO_MANY_ATTEMPTS"
        assert 0 < error["retryAfterSeconds"] <= 15 * 60
        # Mail on request: one per window from this address, whoever it goes to.
        reset = "mutation($email: String!) { requestPasswordReset(email: $email) }"
        assert await api.ok(reset, {"email": person.email}) == {"requestPasswordReset": True}
        error = await api.error(reset, {"email": unique_email("other")})
        assert error["code"] == "TOO_MANY_ATTEMPTS"
    assert len(mailbox.to(person.email)) == 1
