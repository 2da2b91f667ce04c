"""Security events through the real API: failed logins (known and unknown accounts), lockout,
password reset asked and done, password change, consent withdrawal, erasure. Each names the
person by id only: no email, no password, no token in the row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.db.models import LogCategory, LogLevel, Role, User
from backend.domain.mailer import Mailer
from backend.domain.privacy.erasure import Erasure
from backend.settings import Settings
from tests.conftest import PASSWORD, Api, MailBox
from tests.system_logs.helpers import dump, rows

LOG_IN = "mutation($e: String!, $p: String!) { logIn(input: {email: $e, password: $p}) { token } }"
WRONG = "Wr0ng-Horse-Battery-Staple!"


async def test_failed_logins_and_the_lockout(
    api: Api, make_user: Any, sessionmaker: Any, settings: Settings
) -> None:
    person = await make_user()
    for _ in range(settings.login_max_failures):
        await api.error(LOG_IN, {"e": person.email, "p": WRONG})
    await api.error(LOG_IN, {"e": "nobody-here@example.com", "p": WRONG})
    await api.error(LOG_IN, {"e": "not an address", "p": WRONG})

    failed = await rows(sessionmaker, event="security.login_failed")
    known = [r for r in failed if r.user_id == person.id]
    assert len(known) == settings.login_max_failures
    assert [r.details["failures"] for r in known] == list(range(1, settings.login_max_failures + 1))
    unknown = [r for r in failed if r.user_id is None]
    assert len(unknown) == 2 and all(r.details == {"known_account": False} for r in unknown)
    assert {(r.level, r.category) for r in failed} == {(LogLevel.WARNING, LogCategory.SECURITY)}

    [locked] = await rows(sessionmaker, event="security.account_locked")
    assert locked.user_id == person.id
    assert locked.details == {
        "failures": settings.login_max_failures,
        "minutes": settings.login_lockout_minutes,
    }

    everything = dump(await rows(sessionmaker))
    for secret in (person.email, "nobody-here@example.com", "not an address", WRONG):
        assert secret not in everything


async def test_password_reset_and_change(
    api: Api, make_user: Any, sessionmaker: Any, mailbox: MailBox
) -> None:
    person = await make_user()
    await api.ok("mutation($e: String!) { requestPasswordReset(email: $e) }", {"e": person.email})
    token = mailbox.last_token(person.email, "/reset-password")
    new_password = "An0ther-Horse-Battery!"
    await api.ok(
        "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }",
        {"t": token, "p": new_password},
    )
    login = await api.ok(LOG_IN, {"e": person.email, "p": new_password})
    third = "Third-Horse-Battery-42"
    await api.ok(
        "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, "
        "newPassword: $n) }",
        {"c": new_password, "n": third},
        token=login["logIn"]["token"],
    )
    events = [(r.event, r.user_id, r.level) for r in await rows(sessionmaker)]
    assert events == [
        ("security.password_reset_requested", person.id, LogLevel.INFO),
        ("security.password_reset", person.id, LogLevel.INFO),
        ("security.password_changed", person.id, LogLevel.INFO),
    ]
    everything = dump(await rows(sessionmaker))
    for secret in (person.email, token, new_password, third, PASSWORD):
        assert secret not in everything


async def test_consent_withdrawn_and_erasure(
    api: Api, make_user: Any, sessionmaker: Any, settings: Settings
) -> None:
    person = await make_user()
    await make_user(Role.ADMIN)  # erasure keeps the last administrator: there is another
    assert (await api.ok("mutation { withdrawConsent }", token=person.token)) == {
        "withdrawConsent": 1
    }
    [withdrawn] = await rows(sessionmaker, event="security.consent_withdrawn")
    assert withdrawn.user_id == person.id
    assert withdrawn.details == {"by_self": True, "sessions_ended": 1}

    erasure = Erasure(sessionmaker, settings, Mailer(settings))
    assert await erasure.erase(person.id, actor_id=None, reason="inactivity") is not None
    [erased] = await rows(sessionmaker, event="security.user_erased")
    assert erased.user_id == person.id
    assert erased.details == {"reason": "inactivity", "by_admin": False}
    async with sessionmaker() as db:
        user = await db.scalar(select(User).where(User.id == person.id))
        assert user is not None and user.erased_at is not None
    assert person.email not in dump(await rows(sessionmaker))
