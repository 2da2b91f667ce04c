"""Limits per client address: failed logins spread over many accounts, and requests that email
a typed address. Counted in the database (every process sees the same counts), addresses kept
only as keyed hashes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Language, SystemLogEntry, ThrottleWindow
from backend.domain.accounts import Accounts
from backend.domain.errors import InvalidCredentials, TooManyAttempts
from backend.domain.mailer import Mailer
from backend.settings import Settings
from tests.conftest import PASSWORD, MailBox, unique_email

ATTACKER = "203.0.113.7"
NEIGHBOUR = "198.51.100.20"


@pytest.fixture
def strict(db: AsyncSession, settings: Settings) -> Accounts:
    tight = settings.model_copy(update={"throttle_failed_logins": 3, "throttle_emails": 2})
    return Accounts(db, tight, Mailer(tight))


async def age_windows(db: AsyncSession, minutes: int) -> None:
    """Move every window into the past (how tests move time: never by sleeping)."""
    rows = (await db.scalars(select(ThrottleWindow))).all()
    for row in rows:
        await db.execute(
            update(ThrottleWindow)
            .where(ThrottleWindow.key == row.key)
            .values(window_started_at=row.window_started_at - timedelta(minutes=minutes))
        )
    await db.commit()


async def test_failed_logins_from_one_address_are_limited_across_accounts(
    strict: Accounts, db: AsyncSession, make_user: Any
) -> None:
    victim = await make_user()
    # Guessing spread over accounts that exist and accounts that do not.
    for email in (victim.email, unique_email("nobody"), "not an email"):
        with pytest.raises(InvalidCredentials):
            await strict.log_in(
                email=email, password="wrong guess", accepted_policy_version=None, client=ATTACKER
            )
    # Now even the right password is refused from that address, before it is checked...
    with pytest.raises(TooManyAttempts) as caught:
        await strict.log_in(
            email=victim.email, password=PASSWORD, accepted_policy_version=None, client=ATTACKER
        )
    assert 0 < caught.value.extensions["retryAfterSeconds"] <= 15 * 60
    assert "try again in 15 minutes" in caught.value.message
    # ... but not from another address, and the account itself was not locked (1 failure).
    result = await strict.log_in(
        email=victim.email, password=PASSWORD, accepted_policy_version=None, client=NEIGHBOUR
    )
    assert result.user.id == victim.id

    # One entry in the system logs, however many refusals follow.
    with pytest.raises(TooManyAttempts):
        await strict.log_in(
            email=victim.email, password="again", accepted_policy_version=None, client=ATTACKER
        )
    events = list(await db.scalars(select(SystemLogEntry.event)))
    assert events.count("security.login_throttled") == 1
    assert events.count("security.login_failed") == 3

    # The window over, the address may try again.
    await age_windows(db, 16)
    result = await strict.log_in(
        email=victim.email, password=PASSWORD, accepted_policy_version=None, client=ATTACKER
    )
    assert result.user.id == victim.id


async def test_requests_that_send_email_are_limited_per_address(
    strict: Accounts, db: AsyncSession, mailbox: MailBox, make_user: Any
) -> None:
    person = await make_user()
    mailbox.messages.clear()
    # Known and unknown addresses count alike (the answer must not tell them apart).
    await strict.request_password_reset(person.email, client=ATTACKER)
    await strict.request_password_reset(unique_email("nobody"), client=ATTACKER)
    with pytest.raises(TooManyAttempts):
        await strict.request_password_reset(person.email, client=ATTACKER)
    with pytest.raises(TooManyAttempts):
        await strict.sign_up(
            email=person.email,
            password=PASSWORD,
            first_name="Eve",
            last_name="Flood",
            language=Language.EN,
            accepted_policy_version=strict.settings.privacy_policy_version,
            client=ATTACKER,
        )
    assert len(mailbox.to(person.email)) == 1
    await strict.request_password_reset(person.email, client=NEIGHBOUR)
    assert len(mailbox.to(person.email)) == 2


async def test_addresses_are_kept_as_keyed_hashes_and_dropped_when_stale(
    strict: Accounts, db: AsyncSession
) -> None:
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await strict.log_in(
                email=unique_email(), password="x", accepted_policy_version=None, client=ATTACKER
            )
    rows = (await db.scalars(select(ThrottleWindow))).all()
    assert len(rows) == 1 and rows[0].attempts == 2
    assert ATTACKER not in rows[0].key and len(rows[0].key) == 64
    # Another secret key gives another hash: the table alone does not give the address away.
    other = strict.throttle.key(strict.failed_logins, ATTACKER)
    assert other == rows[0].key
    changed = strict.settings.model_copy(update={"secret_key": "another secret"})
    elsewhere = Accounts(db, changed, strict.mailer).throttle
    assert elsewhere.key(strict.failed_logins, ATTACKER) != other

    # A day later, the next counted attempt (from anyone) drops the stale window.
    await age_windows(db, 24 * 60 + 1)
    with pytest.raises(InvalidCredentials):
        await strict.log_in(
            email=unique_email(), password="x", accepted_policy_version=None, client=NEIGHBOUR
        )
    db.expire_all()
    keys = (await db.scalars(select(ThrottleWindow.key))).all()
    assert keys == [strict.throttle.key(strict.failed_logins, NEIGHBOUR)]
