"""Accounts: sign-up and email verification, login with consent and lockout, sessions,
password reset and change. Real database, real SMTP server, real Argon2id."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import (
    AuditEntry,
    AuthSession,
    ConsentRecord,
    EmailToken,
    EmailTokenPurpose,
    Language,
    Role,
    SystemLogEntry,
    User,
    UserStatus,
)
from backend.domain.accounts import Accounts
from backend.domain.errors import (
    AccountLocked,
    AccountNotActive,
    ConsentRequired,
    EmailNotVerified,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
)
from backend.domain.mailer import Mailer
from backend.domain.viewer import ANONYMOUS
from backend.settings import Settings
from tests.conftest import PASSWORD, MailBox, unique_email

NEW_PASSWORD = "a brand new passphrase 42"


# --- helpers ---------------------------------------------------------------------------------


async def sign_up(accounts: Accounts, email: str | None = None, **overrides: Any) -> User:
    values: dict[str, Any] = {
        "email": email or unique_email(),
        "password": PASSWORD,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "language": Language.EN,
        "accepted_policy_version": accounts.settings.privacy_policy_version,
        **overrides,
    }
    user = await accounts.sign_up(**values)
    assert user is not None, "the address already had an account"
    return user


async def sign_up_again(accounts: Accounts, email: str, **overrides: Any) -> None:
    """Sign up with the address of an existing account: the same answer as a new account's."""
    values: dict[str, Any] = {
        "email": email,
        "password": "another long passphrase 99",
        "first_name": "Mallory",
        "last_name": "Lovelace",
        "language": Language.FR,
        "accepted_policy_version": accounts.settings.privacy_policy_version,
        **overrides,
    }
    assert await accounts.sign_up(**values) is None


async def set_user(db: AsyncSession, user_id: uuid.UUID, **values: Any) -> None:
    """Change a user row directly (how tests move time: never by sleeping)."""
    await db.execute(update(User).where(User.id == user_id).values(**values))
    await db.commit()
    db.expire_all()


async def reload(db: AsyncSession, user_id: uuid.UUID) -> User:
    db.expire_all()
    return await db.get_one(User, user_id)


async def count(db: AsyncSession, stmt: Any) -> int:
    return int(await db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


async def live_sessions(db: AsyncSession, user_id: uuid.UUID) -> int:
    return await count(
        db,
        select(AuthSession.id).where(
            AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
        ),
    )


async def fail_login(accounts: Accounts, email: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            await accounts.log_in(
                email=email, password="wrong password!!", accepted_policy_version=None
            )


# --- sign-up and email verification ----------------------------------------------------------


async def test_sign_up_creates_a_pending_user_with_consent_and_argon2id_hash(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox, settings: Settings
) -> None:
    address = unique_email("signup")
    before = utcnow()
    user = await sign_up(accounts, "  " + address.upper() + " ")

    stored = await reload(db, user.id)
    assert stored.email == address  # trimmed and lower-cased: the login is case-insensitive
    assert stored.status is UserStatus.PENDING
    assert stored.role is Role.BASIC
    assert stored.email_verified_at is None
    assert stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$v=19$")
    assert PASSWORD not in stored.password_hash
    assert PasswordHasher().verify(stored.password_hash, PASSWORD)

    consents = (
        await db.scalars(select(ConsentRecord).where(ConsentRecord.user_id == user.id))
    ).all()
    assert [c.policy_version for c in consents] == [settings.privacy_policy_version]
    assert before - timedelta(seconds=1) <= consents[0].accepted_at <= utcnow()
    assert consents[0].withdrawn_at is None

    actions = await db.scalars(
        select(AuditEntry.action).where(AuditEntry.target_id == str(user.id))
    )
    assert "user.sign_up" in set(actions)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "two@@example.com"}, "email"),
        ({"password": "short1"}, "password"),
        ({"password": "aaaaabbbbbaaaaa"}, "password"),  # fewer than 4 distinct characters
        ({"password": "x" * 513 + "yzw"}, "password"),
        ({"first_name": "   "}, "firstName"),
        ({"first_name": "A" * 101}, "firstName"),
        ({"last_name": ""}, "lastName"),
        ({"last_name": "L" * 101}, "lastName"),
    ],
)
async def test_sign_up_validation_names_the_field(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox, overrides: dict[str, Any], field: str
) -> None:
    values = {"email": unique_email("invalid"), **overrides}
    with pytest.raises(InvalidInput) as caught:
        await sign_up(accounts, **values)
    await db.rollback()
    assert caught.value.extensions["code"] == "BAD_USER_INPUT"
    assert caught.value.extensions["field"] == field
    assert await count(db, select(User.id)) == 0
    assert mailbox.messages == []


async def test_password_equal_to_the_email_is_refused(accounts: Accounts, db: AsyncSession) -> None:
    with pytest.raises(InvalidInput) as caught:
        await sign_up(accounts, "averylongname@example.com", password="AveryLongName")
    await db.rollback()
    assert caught.value.extensions["field"] == "password"


async def test_signing_up_again_tells_the_owner_and_not_whoever_tried(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox
) -> None:
    address = unique_email("dup")
    user = await sign_up(accounts, address)
    users = await count(db, select(User.id))

    # Never confirmed: the owner gets a new confirmation link (the first mail may be lost).
    mailbox.messages.clear()
    await sign_up_again(accounts, address.upper())
    [mail] = mailbox.to(address)
    assert mail["Subject"] == "Confirm your VEV-IQ account"  # in the owner's language
    await accounts.verify_email(mailbox.last_token(address, "/verify-email"))

    # Confirmed: a note that the address has an account, how to log in, a reset link.
    mailbox.messages.clear()
    await sign_up_again(accounts, address)
    [mail] = mailbox.to(address)
    body = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert mail["Subject"] == "Your VEV-IQ account"
    assert "already has one" in body and "/login" in body
    await accounts.reset_password(mailbox.last_token(address, "/reset-password"), NEW_PASSWORD)

    # Nothing about the account changed but what its owner chose; no second account.
    again = await reload(db, user.id)
    assert (again.first_name, again.language) == ("Ada", Language.EN)
    assert await count(db, select(User.id)) == users
    consents = await db.scalars(select(ConsentRecord).where(ConsentRecord.user_id == user.id))
    assert len(consents.all()) == 1

    # A blocked account gets nothing, as with a password reset; every attempt is logged.
    await set_user(db, user.id, status=UserStatus.BLOCKED)
    mailbox.messages.clear()
    await sign_up_again(accounts, address)
    assert mailbox.messages == []
    logged = await db.scalars(
        select(SystemLogEntry.event)
        .where(SystemLogEntry.user_id == user.id)
        .order_by(SystemLogEntry.id)
    )
    assert list(logged).count("security.sign_up_existing_email") == 3


@pytest.mark.parametrize("version", ["2020-01", "", "2026-11 "])
async def test_sign_up_needs_consent_to_the_current_policy(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox, settings: Settings, version: str
) -> None:
    with pytest.raises(ConsentRequired) as caught:
        await sign_up(accounts, unique_email("consent"), accepted_policy_version=version)
    await db.rollback()
    assert caught.value.extensions["code"] == "CONSENT_REQUIRED"
    assert caught.value.extensions["field"] == "acceptedPolicyVersion"
    assert caught.value.extensions["policyVersion"] == settings.privacy_policy_version
    assert await count(db, select(User.id)) == 0
    assert await count(db, select(ConsentRecord.id)) == 0
    assert mailbox.messages == []


async def test_verification_mail_is_sent_and_its_link_works_once(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox, settings: Settings
) -> None:
    address = unique_email("verify")
    user = await sign_up(accounts, address)

    [message] = mailbox.to(address)
    assert message["Subject"] == "Confirm your VEV-IQ account"
    assert message["From"] == settings.mail_from
    link = mailbox.last_link(address, "/verify-email")
    assert link.startswith("http://testserver/verify-email?token=")
    token = mailbox.last_token(address, "/verify-email")

    # Before verification the account cannot log in.
    with pytest.raises(EmailNotVerified):
        await accounts.log_in(email=address, password=PASSWORD, accepted_policy_version=None)

    verified = await accounts.verify_email(token)
    assert verified.id == user.id
    stored = await reload(db, user.id)
    assert stored.status is UserStatus.ACTIVE
    assert stored.email_verified_at is not None

    with pytest.raises(InvalidToken) as caught:
        await accounts.verify_email(token)
    await db.rollback()
    assert caught.value.extensions["code"] == "INVALID_TOKEN"

    # Consent was given at sign-up, so the first login needs no second tick.
    result = await accounts.log_in(email=address, password=PASSWORD, accepted_policy_version=None)
    assert result.user.id == user.id


async def test_verification_mail_is_in_the_users_language(
    accounts: Accounts, mailbox: MailBox
) -> None:
    address = unique_email("fr")
    await sign_up(accounts, address, first_name="Édith", language=Language.FR)
    [message] = mailbox.to(address)
    assert message["Subject"] == "Confirmez votre compte VEV-IQ"
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "Bonjour Édith" in body
    assert mailbox.last_token(address, "/verify-email")


async def test_email_tokens_are_stored_hashed(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox
) -> None:
    address = unique_email("hashed")
    await sign_up(accounts, address)
    token = mailbox.last_token(address, "/verify-email")

    rows = (await db.execute(text("SELECT * FROM email_tokens"))).all()
    assert len(rows) == 1
    assert all(token not in str(value) for value in rows[0])
    stored = await db.scalar(select(EmailToken))
    assert stored is not None
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.purpose is EmailTokenPurpose.VERIFY_EMAIL
    assert stored.used_at is None


async def test_expired_or_unknown_verification_token_is_refused(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox
) -> None:
    address = unique_email("expired")
    user_id = (await sign_up(accounts, address)).id
    token = mailbox.last_token(address, "/verify-email")
    await db.execute(
        update(EmailToken)
        .where(EmailToken.user_id == user_id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()

    for candidate in (token, "not-a-token", ""):
        with pytest.raises(InvalidToken):
            await accounts.verify_email(candidate)
        await db.rollback()
    assert (await reload(db, user_id)).status is UserStatus.PENDING


async def test_a_verification_token_cannot_reset_a_password(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox
) -> None:
    address = unique_email("purpose")
    await sign_up(accounts, address)
    token = mailbox.last_token(address, "/verify-email")
    with pytest.raises(InvalidToken):
        await accounts.reset_password(token, NEW_PASSWORD)
    await db.rollback()
    # ... and the token still does its own job.
    await accounts.verify_email(token)


# --- login -----------------------------------------------------------------------------------


async def test_login_creates_a_session_whose_token_is_stored_hashed(
    accounts: Accounts, db: AsyncSession, make_user: Any, settings: Settings
) -> None:
    person = await make_user()
    before = utcnow()
    result = await accounts.log_in(
        email=person.email.upper(), password=PASSWORD, accepted_policy_version=None
    )
    assert result.user.id == person.id
    expected_expiry = before + timedelta(hours=settings.session_ttl_hours)
    assert abs((result.expires_at - expected_expiry).total_seconds()) < 5

    stored = await db.scalar(
        select(AuthSession).where(
            AuthSession.token_hash == hashlib.sha256(result.token.encode()).hexdigest()
        )
    )
    assert stored is not None and stored.user_id == person.id
    session_id = stored.id
    rows = (await db.execute(text("SELECT * FROM auth_sessions"))).all()
    assert all(result.token not in str(value) for row in rows for value in row)

    user = await reload(db, person.id)
    assert user.last_login_at is not None and user.last_login_at >= before - timedelta(seconds=1)

    viewer = await accounts.viewer_for_token(result.token)
    assert viewer.user_id == person.id
    assert viewer.role is Role.BASIC
    assert viewer.session_id == session_id


async def test_wrong_password_and_unknown_email_give_the_same_error(
    accounts: Accounts, db: AsyncSession, make_user: Any
) -> None:
    person = await make_user()
    errors = []
    for email in (person.email, unique_email("nobody"), "not an email"):
        with pytest.raises(InvalidCredentials) as caught:
            await accounts.log_in(
                email=email, password="wrong password!!", accepted_policy_version=None
            )
        errors.append((type(caught.value), caught.value.message, caught.value.extensions))
    assert errors[0] == errors[1] == errors[2]
    assert errors[0][2] == {"code": "INVALID_CREDENTIALS"}  # no field: nothing to point at
    assert (await reload(db, person.id)).failed_login_count == 1


async def test_pending_unverified_account_cannot_log_in(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox
) -> None:
    address = unique_email("pending")
    user = await sign_up(accounts, address)
    with pytest.raises(EmailNotVerified) as caught:
        await accounts.log_in(email=address, password=PASSWORD, accepted_policy_version=None)
    assert caught.value.extensions["code"] == "EMAIL_NOT_VERIFIED"
    assert await live_sessions(db, user.id) == 0
    # The wrong password still says nothing about the account's state.
    with pytest.raises(InvalidCredentials):
        await accounts.log_in(
            email=address, password="wrong password!!", accepted_policy_version=None
        )


@pytest.mark.parametrize("status", [UserStatus.BLOCKED, UserStatus.INACTIVE])
async def test_blocked_or_inactive_account_cannot_log_in(
    accounts: Accounts, db: AsyncSession, make_user: Any, status: UserStatus
) -> None:
    person = await make_user()
    await set_user(db, person.id, status=status)
    with pytest.raises(AccountNotActive) as caught:
        await accounts.log_in(email=person.email, password=PASSWORD, accepted_policy_version=None)
    assert caught.value.extensions == {"code": "ACCOUNT_NOT_ACTIVE", "status": status.name}
    # Its existing session stops working as well.
    assert await accounts.viewer_for_token(person.token) == ANONYMOUS


async def test_lockout_after_max_failures_then_unlock_when_time_passes(
    accounts: Accounts, db: AsyncSession, make_user: Any, settings: Settings
) -> None:
    person = await make_user()
    await fail_login(accounts, person.email, settings.login_max_failures - 1)
    assert (await reload(db, person.id)).status is UserStatus.ACTIVE

    with pytest.raises(AccountLocked) as caught:
        await accounts.log_in(
            email=person.email, password="wrong again!!", accepted_policy_version=None
        )
    lockout = settings.login_lockout_minutes * 60
    assert caught.value.extensions["code"] == "ACCOUNT_LOCKED"
    assert lockout - 10 <= caught.value.extensions["retryAfterSeconds"] <= lockout

    user = await reload(db, person.id)
    assert user.status is UserStatus.LOCKED
    assert user.failed_login_count == settings.login_max_failures
    assert user.locked_until is not None
    actions = set(
        await db.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(person.id)))
    )
    assert {"user.locked", "user.login_failed"} <= actions

    # Even the right password is refused while locked, with the time left.
    with pytest.raises(AccountLocked) as caught:
        await accounts.log_in(email=person.email, password=PASSWORD, accepted_policy_version=None)
    await db.rollback()
    assert 0 < caught.value.extensions["retryAfterSeconds"] <= lockout

    # Almost over: still locked, and says so to the second.
    await set_user(db, person.id, locked_until=utcnow() + timedelta(seconds=30))
    with pytest.raises(AccountLocked) as caught:
        await accounts.log_in(email=person.email, password=PASSWORD, accepted_policy_version=None)
    await db.rollback()
    assert 1 <= caught.value.extensions["retryAfterSeconds"] <= 30

    # The lock ran out: the right password works and everything is reset.
    await set_user(db, person.id, locked_until=utcnow() - timedelta(seconds=1))
    result = await accounts.log_in(
        email=person.email, password=PASSWORD, accepted_policy_version=None
    )
    assert result.user.id == person.id
    user = await reload(db, person.id)
    assert user.status is UserStatus.ACTIVE
    assert user.failed_login_count == 0
    assert user.locked_until is None


async def test_after_a_lockout_ran_out_a_wrong_password_starts_counting_again(
    accounts: Accounts, db: AsyncSession, make_user: Any, settings: Settings
) -> None:
    person = await make_user()
    await set_user(
        db,
        person.id,
        status=UserStatus.LOCKED,
        failed_login_count=settings.login_max_failures,
        locked_until=utcnow() - timedelta(minutes=1),
    )
    await fail_login(accounts, person.email, 1)
    user = await reload(db, person.id)
    assert user.status is UserStatus.ACTIVE
    assert user.failed_login_count == 1


async def test_a_successful_login_resets_the_failure_counter(
    accounts: Accounts, db: AsyncSession, make_user: Any, settings: Settings
) -> None:
    person = await make_user()
    almost = settings.login_max_failures - 1
    await fail_login(accounts, person.email, almost)
    assert (await reload(db, person.id)).failed_login_count == almost
    await accounts.log_in(email=person.email, password=PASSWORD, accepted_policy_version=None)
    assert (await reload(db, person.id)).failed_login_count == 0
    await fail_login(accounts, person.email, almost)  # not locked: the count started over
    user = await reload(db, person.id)
    assert user.status is UserStatus.ACTIVE
    assert user.failed_login_count == almost


# --- consent ---------------------------------------------------------------------------------


async def test_login_without_consent_asks_for_it_then_records_it(
    accounts: Accounts, db: AsyncSession, make_user: Any, settings: Settings
) -> None:
    person = await make_user()
    await db.execute(delete(ConsentRecord).where(ConsentRecord.user_id == person.id))
    await db.commit()
    sessions_before = await live_sessions(db, person.id)

    for offered in (None, "2020-01"):
        with pytest.raises(ConsentRequired) as caught:
            await accounts.log_in(
                email=person.email, password=PASSWORD, accepted_policy_version=offered
            )
        assert caught.value.extensions == {
            "code": "CONSENT_REQUIRED",
            "field": "acceptedPolicyVersion",
            "policyVersion": settings.privacy_policy_version,
        }
    assert await live_sessions(db, person.id) == sessions_before
    # Without consent, the account's existing session is not usable either.
    assert await accounts.viewer_for_token(person.token) == ANONYMOUS

    before = utcnow()
    result = await accounts.log_in(
        email=person.email,
        password=PASSWORD,
        accepted_policy_version=settings.privacy_policy_version,
    )
    assert result.user.id == person.id
    db.expire_all()
    [consent] = (
        await db.scalars(select(ConsentRecord).where(ConsentRecord.user_id == person.id))
    ).all()
    assert consent.policy_version == settings.privacy_policy_version
    assert before - timedelta(seconds=1) <= consent.accepted_at <= utcnow()
    entry = await db.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "user.consent", AuditEntry.target_id == str(person.id)
        )
    )
    assert entry is not None and entry.details == {
        "policy_version": settings.privacy_policy_version
    }
    assert (await accounts.viewer_for_token(result.token)).user_id == person.id


async def test_a_new_policy_version_asks_again(
    db: AsyncSession, make_user: Any, settings: Settings
) -> None:
    person = await make_user()
    old = Accounts(db, settings, Mailer(settings))
    assert (await old.viewer_for_token(person.token)).user_id == person.id

    new_settings = settings.model_copy(update={"privacy_policy_version": "2027-01"})
    new = Accounts(db, new_settings, Mailer(new_settings))
    # Existing sessions stop working until the person accepts the new policy.
    assert await new.viewer_for_token(person.token) == ANONYMOUS

    with pytest.raises(ConsentRequired) as caught:
        await new.log_in(
            email=person.email,
            password=PASSWORD,
            accepted_policy_version=settings.privacy_policy_version,  # the old one
        )
    assert caught.value.extensions["policyVersion"] == "2027-01"

    result = await new.log_in(
        email=person.email, password=PASSWORD, accepted_policy_version="2027-01"
    )
    versions = set(
        await db.scalars(
            select(ConsentRecord.policy_version).where(ConsentRecord.user_id == person.id)
        )
    )
    assert versions == {settings.privacy_policy_version, "2027-01"}  # the history is kept
    assert (await new.viewer_for_token(result.token)).user_id == person.id


async def test_withdrawn_consent_ends_sessions(
    accounts: Accounts, db: AsyncSession, make_user: Any
) -> None:
    person = await make_user()
    await db.execute(
        update(ConsentRecord)
        .where(ConsentRecord.user_id == person.id)
        .values(withdrawn_at=utcnow())
    )
    await db.commit()
    assert await accounts.viewer_for_token(person.token) == ANONYMOUS


# --- sessions --------------------------------------------------------------------------------


async def test_logout_revokes_only_that_session(
    accounts: Accounts, db: AsyncSession, make_user: Any
) -> None:
    person = await make_user()
    other = await accounts.log_in(
        email=person.email, password=PASSWORD, accepted_policy_version=None
    )
    viewer = await accounts.viewer_for_token(person.token)
    assert viewer.authenticated

    await accounts.log_out(viewer)
    assert await accounts.viewer_for_token(person.token) == ANONYMOUS
    assert (await accounts.viewer_for_token(other.token)).user_id == person.id
    revoked = await db.scalar(select(AuthSession).where(AuthSession.id == viewer.session_id))
    assert revoked is not None and revoked.revoked_at is not None

    await accounts.log_out(ANONYMOUS)  # harmless
    assert (await accounts.viewer_for_token(other.token)).user_id == person.id


async def test_expired_session_is_rejected(
    accounts: Accounts, db: AsyncSession, make_user: Any
) -> None:
    person = await make_user()
    assert (await accounts.viewer_for_token(person.token)).authenticated
    await db.execute(
        update(AuthSession)
        .where(AuthSession.user_id == person.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert await accounts.viewer_for_token(person.token) == ANONYMOUS


@pytest.mark.parametrize("token", [None, "", "garbage", "x" * 500])
async def test_missing_or_unknown_token_is_anonymous(accounts: Accounts, token: str | None) -> None:
    assert await accounts.viewer_for_token(token) == ANONYMOUS


# --- password reset --------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["nobody-{}@example.com", "not an email", ""])
async def test_reset_for_unknown_email_does_nothing(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox, email: str
) -> None:
    await accounts.request_password_reset(email.format(uuid.uuid4().hex[:6]))
    assert mailbox.messages == []
    assert await count(db, select(EmailToken.id)) == 0


@pytest.mark.parametrize("status", [UserStatus.BLOCKED, UserStatus.INACTIVE])
async def test_reset_for_blocked_or_inactive_account_sends_nothing(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox, make_user: Any, status: UserStatus
) -> None:
    person = await make_user()
    await set_user(db, person.id, status=status)
    await accounts.request_password_reset(person.email)
    assert mailbox.messages == []
    assert await count(db, select(EmailToken.id)) == 0


async def test_reset_password_by_mailed_token_works_once(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox, make_user: Any
) -> None:
    person = await make_user()
    await accounts.request_password_reset(person.email.upper())
    [message] = mailbox.to(person.email)
    assert message["Subject"] == "Reset your VEV-IQ password"
    token = mailbox.last_token(person.email, "/reset-password")
    assert mailbox.last_link(person.email, "/reset-password").startswith("http://testserver/")

    await accounts.reset_password(token, NEW_PASSWORD)
    user = await reload(db, person.id)
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")

    with pytest.raises(InvalidToken):
        await accounts.reset_password(token, "yet another passphrase 7")
    await db.rollback()

    with pytest.raises(InvalidCredentials):
        await accounts.log_in(email=person.email, password=PASSWORD, accepted_policy_version=None)
    result = await accounts.log_in(
        email=person.email, password=NEW_PASSWORD, accepted_policy_version=None
    )
    assert result.user.id == person.id


async def test_reset_token_expires(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox, make_user: Any, settings: Settings
) -> None:
    person = await make_user()
    await accounts.request_password_reset(person.email)
    token = mailbox.last_token(person.email, "/reset-password")
    record = await db.scalar(select(EmailToken).where(EmailToken.user_id == person.id))
    assert record is not None
    ttl = record.expires_at - record.created_at
    assert abs(ttl.total_seconds() - settings.password_reset_ttl_minutes * 60) < 5

    await db.execute(
        update(EmailToken)
        .where(EmailToken.id == record.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    with pytest.raises(InvalidToken):
        await accounts.reset_password(token, NEW_PASSWORD)
    await db.rollback()
    await accounts.log_in(email=person.email, password=PASSWORD, accepted_policy_version=None)


async def test_a_newer_reset_token_invalidates_the_older(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox, make_user: Any
) -> None:
    person = await make_user()
    await accounts.request_password_reset(person.email)
    first = mailbox.last_token(person.email, "/reset-password")
    await accounts.request_password_reset(person.email)
    second = mailbox.last_token(person.email, "/reset-password")
    assert first != second
    assert len(mailbox.to(person.email)) == 2

    with pytest.raises(InvalidToken):
        await accounts.reset_password(first, NEW_PASSWORD)
    await db.rollback()
    await accounts.reset_password(second, NEW_PASSWORD)


async def test_reset_with_a_weak_password_keeps_the_token_usable(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox, make_user: Any
) -> None:
    person = await make_user()
    await accounts.request_password_reset(person.email)
    token = mailbox.last_token(person.email, "/reset-password")
    with pytest.raises(InvalidInput) as caught:
        await accounts.reset_password(token, "short")
    await db.rollback()  # what the API does when a mutation fails
    assert caught.value.extensions["field"] == "newPassword"
    await accounts.reset_password(token, NEW_PASSWORD)


async def test_reset_lifts_a_lockout_and_revokes_every_session(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox, make_user: Any, settings: Settings
) -> None:
    person = await make_user()
    second = await accounts.log_in(
        email=person.email, password=PASSWORD, accepted_policy_version=None
    )
    await fail_login(accounts, person.email, settings.login_max_failures - 1)
    with pytest.raises(AccountLocked):
        await fail_login(accounts, person.email, 1)
    assert (await reload(db, person.id)).status is UserStatus.LOCKED

    await accounts.request_password_reset(person.email)  # a locked person may still reset
    await accounts.reset_password(mailbox.last_token(person.email, "/reset-password"), NEW_PASSWORD)

    user = await reload(db, person.id)
    assert user.status is UserStatus.ACTIVE
    assert user.failed_login_count == 0
    assert user.locked_until is None
    assert await live_sessions(db, person.id) == 0
    assert await accounts.viewer_for_token(person.token) == ANONYMOUS
    assert await accounts.viewer_for_token(second.token) == ANONYMOUS
    result = await accounts.log_in(
        email=person.email, password=NEW_PASSWORD, accepted_policy_version=None
    )
    assert (await accounts.viewer_for_token(result.token)).user_id == person.id


async def test_reset_link_also_verifies_a_pending_account(
    accounts: Accounts, db: AsyncSession, mailbox: MailBox
) -> None:
    address = unique_email("pendingreset")
    user = await sign_up(accounts, address)
    await accounts.request_password_reset(address)
    await accounts.reset_password(mailbox.last_token(address, "/reset-password"), NEW_PASSWORD)
    stored = await reload(db, user.id)
    assert stored.status is UserStatus.ACTIVE
    assert stored.email_verified_at is not None


# --- change password -------------------------------------------------------------------------


async def test_change_password_with_wrong_current_password(
    accounts: Accounts, db: AsyncSession, make_user: Any
) -> None:
    person = await make_user()
    before = (await reload(db, person.id)).password_hash
    viewer = await accounts.viewer_for_token(person.token)
    with pytest.raises(InvalidInput) as caught:
        await accounts.change_password(viewer, "not my password", NEW_PASSWORD)
    await db.rollback()
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "field": "currentPassword"}
    assert (await reload(db, person.id)).password_hash == before


async def test_change_password_checks_the_new_password(
    accounts: Accounts, db: AsyncSession, make_user: Any
) -> None:
    person = await make_user()
    viewer = await accounts.viewer_for_token(person.token)
    with pytest.raises(InvalidInput) as caught:
        await accounts.change_password(viewer, PASSWORD, "tiny")
    await db.rollback()
    assert caught.value.extensions["field"] == "newPassword"


async def test_change_password_keeps_this_session_and_revokes_the_others(
    accounts: Accounts, db: AsyncSession, make_user: Any
) -> None:
    person = await make_user()
    other = await accounts.log_in(
        email=person.email, password=PASSWORD, accepted_policy_version=None
    )
    viewer = await accounts.viewer_for_token(person.token)

    await accounts.change_password(viewer, PASSWORD, NEW_PASSWORD)

    assert (await accounts.viewer_for_token(person.token)).user_id == person.id
    assert await accounts.viewer_for_token(other.token) == ANONYMOUS
    assert await live_sessions(db, person.id) == 1
    user = await reload(db, person.id)
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(user.password_hash, NEW_PASSWORD)
    with pytest.raises(InvalidCredentials):
        await accounts.log_in(email=person.email, password=PASSWORD, accepted_policy_version=None)
    await accounts.log_in(email=person.email, password=NEW_PASSWORD, accepted_policy_version=None)


async def test_a_lockout_blocks_new_logins_but_keeps_open_sessions(
    accounts: Accounts, db: AsyncSession, make_user: Any, settings: Settings
) -> None:
    person = await make_user()
    await fail_login(accounts, person.email, settings.login_max_failures - 1)
    with pytest.raises(AccountLocked):
        await accounts.log_in(
            email=person.email, password="wrong!!!!!!", accepted_policy_version=None
        )
    assert (await reload(db, person.id)).status is UserStatus.LOCKED
    # Someone hammering the login page must not log the owner out of their devices.
    viewer = await accounts.viewer_for_token(person.token)
    assert viewer.user_id == person.id
    # An administrator's lock (no end time) does end every session.
    await set_user(db, person.id, locked_until=None)
    assert not (await accounts.viewer_for_token(person.token)).authenticated
