"""Consent history and withdrawal: logged out everywhere at once, no login until consent is
given again, and the history keeps every consent with its dates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import AuditEntry, AuthSession, Role
from tests.conftest import PASSWORD, Api

LOGIN = (
    "mutation($e: String!, $p: String!, $v: String) { logIn(input: {email: $e, password: $p, "
    "acceptedPolicyVersion: $v}) { token } }"
)
HISTORY = "{ me { privacy { consentHistory { policyVersion givenAt withdrawnAt standing } } } }"


async def test_withdrawing_consent_logs_out_and_refuses_login_until_consent(
    api: Api, sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> None:
    person = await make_user()
    # A second device, logged in through the web app's cookie.
    response = await api.client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"e": person.email, "p": PASSWORD}},
    )
    assert response.json()["data"]["logIn"]["token"]
    cookie = response.cookies["vev_session"]
    second = response.json()["data"]["logIn"]["token"]
    assert (await api.ok("{ me { id } }", token=second))["me"]["id"] == str(person.id)

    response = await api.client.post(
        "/graphql",
        json={"query": "mutation { withdrawConsent }"},
        headers={"cookie": f"vev_session={cookie}"},
    )
    assert response.json() == {"data": {"withdrawConsent": 2}}
    # The web app's cookie is cleared, and both devices' tokens stop working at once.
    assert 'vev_session=""' in response.headers["set-cookie"]
    for token in (person.token, second):
        assert (await api.ok("{ me { id } }", token=token))["me"] is None
        error = await api.error("{ sessions { totalCount } }", token=token)
        assert error["code"] == "UNAUTHENTICATED"
    async with sessionmaker() as db:
        sessions = list(
            await db.scalars(select(AuthSession).where(AuthSession.user_id == person.id))
        )
        assert len(sessions) == 2 and all(s.revoked_at is not None for s in sessions)
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.action == "user.consent_withdrawn")
        )
        assert entry is not None and entry.actor_user_id == person.id

    # No login without consenting again; consenting lets the person in.
    refused = await api.error(LOGIN, {"e": person.email, "p": PASSWORD})
    assert refused["code"] == "CONSENT_REQUIRED"
    token = (await api.ok(LOGIN, {"e": person.email, "p": PASSWORD, "v": "2026-11"}))["logIn"][
        "token"
    ]
    history = (await api.ok(HISTORY, token=token))["me"]["privacy"]["consentHistory"]
    assert [(h["policyVersion"], h["standing"]) for h in history] == [
        ("2026-11", False),
        ("2026-11", True),
    ]
    assert history[0]["withdrawnAt"] is not None and history[1]["withdrawnAt"] is None
    assert history[0]["givenAt"] <= history[0]["withdrawnAt"] <= history[1]["givenAt"]


async def test_consent_withdrawn_on_request_by_an_admin_or_the_dpo(
    api: Api, make_user: Any
) -> None:
    person = await make_user()
    other = await make_user()
    dpo = await make_user(Role.DPO)
    mutation = "mutation($u: ID) { withdrawConsent(userId: $u) }"
    error = await api.error(mutation, {"u": str(person.id)}, token=other.token)
    assert error["code"] == "FORBIDDEN"
    assert (await api.ok(mutation, {"u": str(person.id)}, token=dpo.token)) == {
        "withdrawConsent": 1
    }
    # The DPO is still logged in; the person is not.
    assert (await api.ok("{ me { id } }", token=dpo.token))["me"]["id"] == str(dpo.id)
    assert (await api.ok("{ me { id } }", token=person.token))["me"] is None
    # Nothing left to withdraw.
    again = await api.error(mutation, {"u": str(person.id)}, token=dpo.token)
    assert again["code"] == "CONFLICT"
