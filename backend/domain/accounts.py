"""Accounts: sign-up, email verification, login with consent, lockout, sessions, passwords."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import (
    AuthSession,
    ConsentRecord,
    EmailToken,
    EmailTokenPurpose,
    Language,
    LogCategory,
    LogLevel,
    Role,
    SiteMember,
    User,
    UserStatus,
)
from backend.domain import audit, mail_templates, passwords, system_logs
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
from backend.domain.throttle import Limit, Throttle
from backend.domain.tokens import hash_token, new_token
from backend.domain.viewer import ANONYMOUS, Viewer
from backend.settings import Settings


def normalize_email(email: str, field: str = "email") -> str:
    try:
        # Deliverability is a DNS lookup; offline deployments must still accept addresses.
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"This email address is not valid: {exc}", field=field) from exc


def clean_name(value: str, field: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise InvalidInput("This field is required.", field=field)
    if len(value) > 100:
        raise InvalidInput("At most 100 characters.", field=field)
    return value


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: datetime
    user: User
    session_id: uuid.UUID


class Accounts:
    def __init__(self, session: AsyncSession, settings: Settings, mailer: Mailer) -> None:
        self.session = session
        self.settings = settings
        self.mailer = mailer
        window = timedelta(minutes=settings.throttle_window_minutes)
        # Per client address: failed logins, and requests that email an address someone typed.
        self.failed_logins = Limit("failed_login", settings.throttle_failed_logins, window)
        self.emails = Limit("email_on_request", settings.throttle_emails, window)

    @functools.cached_property
    def throttle(self) -> Throttle:
        # Once per request: without SECRET_KEY set, the key is read from the data folder.
        return Throttle(self.session, self.settings.resolved_secret_key())

    # --- sign-up and verification -------------------------------------------------------------

    async def sign_up(
        self,
        *,
        email: str,
        password: str,
        first_name: str,
        last_name: str,
        language: Language,
        accepted_policy_version: str,
        client: str | None = None,
    ) -> User | None:
        """A pending account and its verification email; ``None`` when the address already has
        an account. The caller's answer must then be the same as for a new account (no
        account enumeration): the address's owner is told by email instead."""
        email = normalize_email(email)
        if accepted_policy_version != self.settings.privacy_policy_version:
            raise ConsentRequired(
                "Please read and accept the current privacy policy.",
                field="acceptedPolicyVersion",
                policyVersion=self.settings.privacy_policy_version,
            )
        passwords.check_strength(password, email=email)
        await self.throttle.check(self.emails, client, utcnow())
        await self.throttle.hit(self.emails, client, utcnow())
        # Hashed either way, so that an existing address does not answer sooner.
        password_hash = passwords.hash_password(password)
        existing = await self._user_by_email(email)
        if existing is not None:
            await self._signed_up_again(existing)
            return None
        user = User(
            email=email,
            password_hash=password_hash,
            first_name=clean_name(first_name, "firstName"),
            last_name=clean_name(last_name, "lastName"),
            language=language,
            role=Role.BASIC,
            status=UserStatus.PENDING,
        )
        self.session.add(user)
        await self.session.flush()
        self.session.add(ConsentRecord(user_id=user.id, policy_version=accepted_policy_version))
        audit.record(self.session, user.id, "user.sign_up", user)
        link = await self._issue_email_token(user, EmailTokenPurpose.VERIFY_EMAIL)
        await self.session.commit()
        await self._mail(user, "verify", link)
        return user

    async def _signed_up_again(self, user: User) -> None:
        """Someone signed up with the address of an existing account: its owner gets a new
        confirmation link if it was never confirmed, else a note with a password reset link;
        a blocked or closed account gets nothing (as with a password reset)."""
        system_logs.record(
            self.session,
            LogLevel.INFO,
            LogCategory.SECURITY,
            "security.sign_up_existing_email",
            "Someone signed up with the email address of an existing account.",
            user_id=user.id,
        )
        if user.status in (UserStatus.BLOCKED, UserStatus.INACTIVE):
            await self.session.commit()
            return
        if user.status is UserStatus.PENDING and user.email_verified_at is None:
            kind, purpose = "verify", EmailTokenPurpose.VERIFY_EMAIL
        else:
            kind, purpose = "account_exists", EmailTokenPurpose.RESET_PASSWORD
        link = await self._issue_email_token(user, purpose)
        await self.session.commit()
        await self._mail(user, kind, link)

    async def verify_email(self, token: str) -> User:
        record = await self._consume_email_token(token, EmailTokenPurpose.VERIFY_EMAIL)
        user = await self.session.get_one(User, record.user_id)
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()
        if user.status is UserStatus.PENDING:
            user.status = UserStatus.ACTIVE
        audit.record(self.session, user.id, "user.verify_email", user)
        await self.session.commit()
        return user

    # --- login, sessions ---------------------------------------------------------------------

    async def log_in(
        self,
        *,
        email: str,
        password: str,
        accepted_policy_version: str | None,
        client: str | None = None,
    ) -> LoginResult:
        """A login session. ``client``: the caller's network address, for the limit on failed
        logins per address (guessing spread over many accounts)."""
        now = utcnow()
        await self.throttle.check(self.failed_logins, client, now)
        try:
            email = normalize_email(email)
        except InvalidInput:
            passwords.verify_password(None, password)
            await self._failed_from(client, now)
            await self._security_event(
                LogLevel.WARNING,
                "security.login_failed",
                "Login failed: no such account.",
                None,
                known_account=False,
            )
            raise InvalidCredentials("Wrong email or password.") from None
        user = await self._user_by_email(email)
        if user is None:
            passwords.verify_password(None, password)  # same cost as a real check
            await self._failed_from(client, now)
            # The address is not logged: it may be a typo of someone's real one.
            await self._security_event(
                LogLevel.WARNING,
                "security.login_failed",
                "Login failed: no such account.",
                None,
                known_account=False,
            )
            raise InvalidCredentials("Wrong email or password.")

        if user.status is UserStatus.LOCKED and user.locked_until is not None:
            if user.locked_until > now:
                raise self._locked(user, now)
            # The lockout ran out: the account is usable again.
            user.status = UserStatus.ACTIVE
            user.failed_login_count = 0
            user.locked_until = None

        if not passwords.verify_password(user.password_hash, password):
            user.failed_login_count += 1
            locked = user.failed_login_count >= self.settings.login_max_failures
            if locked and user.status is UserStatus.ACTIVE:
                user.status = UserStatus.LOCKED
                user.locked_until = now + timedelta(minutes=self.settings.login_lockout_minutes)
                audit.record(self.session, user.id, "user.locked", user)
                system_logs.record(
                    self.session,
                    LogLevel.WARNING,
                    LogCategory.SECURITY,
                    "security.account_locked",
                    "Account locked after repeated wrong passwords.",
                    user_id=user.id,
                    details={
                        "failures": user.failed_login_count,
                        "minutes": self.settings.login_lockout_minutes,
                    },
                )
            audit.record(self.session, None, "user.login_failed", user)
            await self._failed_from(client, now)
            system_logs.record(
                self.session,
                LogLevel.WARNING,
                LogCategory.SECURITY,
                "security.login_failed",
                "Login failed: wrong password.",
                user_id=user.id,
                details={"known_account": True, "failures": user.failed_login_count},
            )
            await self.session.commit()
            if user.status is UserStatus.LOCKED and user.locked_until is not None:
                raise self._locked(user, now)
            raise InvalidCredentials("Wrong email or password.")

        user.failed_login_count = 0
        if user.password_hash and passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        if user.email_verified_at is None:
            await self.session.commit()
            raise EmailNotVerified("Please confirm your email address first: check your inbox.")
        if user.status is not UserStatus.ACTIVE:
            await self.session.commit()
            raise AccountNotActive(
                f"This account is {user.status.value}. Please contact an administrator.",
                status=user.status.name,
            )

        current = self.settings.privacy_policy_version
        if not await self.has_current_consent(user.id):
            if accepted_policy_version != current:
                await self.session.commit()
                raise ConsentRequired(
                    "Please read and accept the privacy policy to continue.",
                    field="acceptedPolicyVersion",
                    policyVersion=current,
                )
            self.session.add(ConsentRecord(user_id=user.id, policy_version=current))
            audit.record(self.session, user.id, "user.consent", user, policy_version=current)

        token, token_hash = new_token()
        expires_at = now + timedelta(hours=self.settings.session_ttl_hours)
        auth_session = AuthSession(user_id=user.id, token_hash=token_hash, expires_at=expires_at)
        self.session.add(auth_session)
        user.last_login_at = now
        audit.record(self.session, user.id, "user.login", user)
        await self.session.commit()
        return LoginResult(
            token=token, expires_at=expires_at, user=user, session_id=auth_session.id
        )

    async def _failed_from(self, client: str | None, now: datetime) -> None:
        """Count a failed login against the caller's address; the one that uses up the
        address's attempts is logged (the refusals after it are not, so as not to flood)."""
        count = await self.throttle.hit(self.failed_logins, client, now)
        if count == self.failed_logins.attempts:
            system_logs.record(
                self.session,
                LogLevel.WARNING,
                LogCategory.SECURITY,
                "security.login_throttled",
                "Too many failed logins from one network address: its logins are refused "
                "for a while.",
                details={
                    "failures": count,
                    "minutes": self.settings.throttle_window_minutes,
                },
            )

    def _locked(self, user: User, now: datetime) -> AccountLocked:
        assert user.locked_until is not None
        retry = max(1, int((user.locked_until - now).total_seconds()))
        return AccountLocked(
            "Too many failed attempts: this account is locked for a while.",
            retryAfterSeconds=retry,
        )

    def _current_consent(self, user_id: Any) -> Select[uuid.UUID]:
        return select(ConsentRecord.id).where(
            ConsentRecord.user_id == user_id,
            ConsentRecord.policy_version == self.settings.privacy_policy_version,
            ConsentRecord.withdrawn_at.is_(None),
        )

    async def has_current_consent(self, user_id: uuid.UUID) -> bool:
        return await self.session.scalar(self._current_consent(user_id).limit(1)) is not None

    async def log_out(self, viewer: Viewer) -> None:
        if viewer.session_id is None:
            return
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == viewer.session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        audit.record(self.session, viewer.user_id, "user.logout")
        await self.session.commit()

    async def viewer_for_token(self, token: str | None) -> Viewer:
        """The principal behind a session token, or ANONYMOUS.

        A session stops working when it expires or is revoked, when its user is no longer
        active, and when a new privacy policy awaits the user's consent.
        """
        if not token:
            return ANONYMOUS
        now = utcnow()
        row = (
            await self.session.execute(
                select(AuthSession.id, User.id, User.role, User.status, User.locked_until)
                .join(User, User.id == AuthSession.user_id)
                .where(
                    AuthSession.token_hash == hash_token(token),
                    AuthSession.revoked_at.is_(None),
                    AuthSession.expires_at > now,
                    # Every request passes here: the consent check rides in the same query.
                    self._current_consent(User.id).exists(),
                )
            )
        ).first()
        if row is None:
            return ANONYMOUS
        session_id, user_id, role, status, locked_until = row
        # A lockout after wrong passwords stops new logins only; otherwise anyone knowing an
        # address could log its owner out of every device, again and again.
        temporarily_locked = status is UserStatus.LOCKED and locked_until is not None
        if status is not UserStatus.ACTIVE and not temporarily_locked:
            return ANONYMOUS
        return await self.viewer_for_user(user_id, role, session_id=session_id)

    async def viewer_for_user(
        self, user_id: uuid.UUID, role: Role, *, session_id: uuid.UUID | None = None
    ) -> Viewer:
        rows = await self.session.execute(
            select(SiteMember.site_id, SiteMember.role).where(SiteMember.user_id == user_id)
        )
        site_roles = {site_id: site_role for site_id, site_role in rows}
        viewer = Viewer(user_id=user_id, role=role, site_roles=site_roles, session_id=session_id)
        managed = viewer.managed_site_ids
        if not managed:
            return viewer
        member_ids = await self.session.scalars(
            select(SiteMember.user_id).where(SiteMember.site_id.in_(managed)).distinct()
        )
        return Viewer(
            user_id=user_id,
            role=role,
            site_roles=site_roles,
            session_id=session_id,
            managed_user_ids=frozenset(member_ids),
        )

    # --- passwords ---------------------------------------------------------------------------

    async def request_password_reset(self, email: str, client: str | None = None) -> None:
        await self.throttle.check(self.emails, client, utcnow())
        try:
            email = normalize_email(email)
        except InvalidInput:
            return
        # Counted whether or not the address has an account (the answer must not differ).
        await self.throttle.hit(self.emails, client, utcnow())
        await self.session.commit()
        user = await self._user_by_email(email)
        # The answer is the same whether or not the account exists: no account enumeration.
        if user is None or user.status in (UserStatus.BLOCKED, UserStatus.INACTIVE):
            return
        link = await self._issue_email_token(user, EmailTokenPurpose.RESET_PASSWORD)
        audit.record(self.session, None, "user.password_reset_requested", user)
        system_logs.record(
            self.session,
            LogLevel.INFO,
            LogCategory.SECURITY,
            "security.password_reset_requested",
            "A password reset link was sent.",
            user_id=user.id,
        )
        await self.session.commit()
        await self._mail(user, "reset", link)

    async def reset_password(self, token: str, new_password: str) -> None:
        record = await self._consume_email_token(token, EmailTokenPurpose.RESET_PASSWORD)
        user = await self.session.get_one(User, record.user_id)
        passwords.check_strength(new_password, email=user.email, field="newPassword")
        user.password_hash = passwords.hash_password(new_password)
        # Following a mailed link proves the address; a reset also lifts a lockout.
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()
        if user.status is UserStatus.PENDING:
            user.status = UserStatus.ACTIVE
        if user.status is UserStatus.LOCKED:
            user.status = UserStatus.ACTIVE
            user.locked_until = None
        user.failed_login_count = 0
        await self._revoke_sessions(user.id)
        audit.record(self.session, user.id, "user.password_reset", user)
        system_logs.record(
            self.session,
            LogLevel.INFO,
            LogCategory.SECURITY,
            "security.password_reset",
            "A password was reset through an emailed link; other sessions were ended.",
            user_id=user.id,
        )
        await self.session.commit()

    async def change_password(self, viewer: Viewer, current: str, new: str) -> None:
        user = await self.session.get_one(User, viewer.user_id)
        if not passwords.verify_password(user.password_hash, current):
            raise InvalidInput("The current password is wrong.", field="currentPassword")
        passwords.check_strength(new, email=user.email, field="newPassword")
        user.password_hash = passwords.hash_password(new)
        await self._revoke_sessions(user.id, keep=viewer.session_id)
        audit.record(self.session, user.id, "user.password_changed", user)
        system_logs.record(
            self.session,
            LogLevel.INFO,
            LogCategory.SECURITY,
            "security.password_changed",
            "A password was changed; other sessions were ended.",
            user_id=user.id,
        )
        await self.session.commit()

    async def send_welcome(self, user: User) -> None:
        """An account an admin created: its owner chooses a password through a reset link."""
        link = await self._issue_email_token(user, EmailTokenPurpose.RESET_PASSWORD)
        await self.session.commit()
        await self._mail(user, "reset", link)

    # --- helpers -----------------------------------------------------------------------------

    async def _security_event(
        self,
        level: LogLevel,
        event: str,
        message: str,
        user_id: uuid.UUID | None,
        **details: Any,
    ) -> None:
        """A security event in a transaction of its own (the caller is about to raise)."""
        system_logs.record(
            self.session,
            level,
            LogCategory.SECURITY,
            event,
            message,
            user_id=user_id,
            details=details,
        )
        await self.session.commit()

    async def _mail(self, user: User, kind: str, link: str) -> None:
        await self.mailer.send(
            mail_templates.render(
                kind,
                user.language,
                user.email,
                name=user.first_name,
                link=link,
                login=f"{self.settings.public_url.rstrip('/')}/login",
                hours=self.settings.email_token_ttl_hours,
                minutes=self.settings.password_reset_ttl_minutes,
            )
        )

    async def _user_by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == email))

    async def _revoke_sessions(self, user_id: uuid.UUID, keep: uuid.UUID | None = None) -> None:
        query = update(AuthSession).where(
            AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
        )
        if keep is not None:
            query = query.where(AuthSession.id != keep)
        await self.session.execute(query.values(revoked_at=utcnow()))

    async def _issue_email_token(self, user: User, purpose: EmailTokenPurpose) -> str:
        now = utcnow()
        # A new link replaces any earlier one of the same kind.
        await self.session.execute(
            update(EmailToken)
            .where(
                EmailToken.user_id == user.id,
                EmailToken.purpose == purpose,
                EmailToken.used_at.is_(None),
            )
            .values(used_at=now)
        )
        token, token_hash = new_token()
        if purpose is EmailTokenPurpose.VERIFY_EMAIL:
            ttl = timedelta(hours=self.settings.email_token_ttl_hours)
            path = "/verify-email"
        else:
            ttl = timedelta(minutes=self.settings.password_reset_ttl_minutes)
            path = "/reset-password"
        self.session.add(
            EmailToken(
                user_id=user.id, purpose=purpose, token_hash=token_hash, expires_at=now + ttl
            )
        )
        return f"{self.settings.public_url.rstrip('/')}{path}?token={token}"

    async def _consume_email_token(self, token: str, purpose: EmailTokenPurpose) -> EmailToken:
        now = utcnow()
        record = await self.session.scalar(
            select(EmailToken).where(
                EmailToken.token_hash == hash_token(token), EmailToken.purpose == purpose
            )
        )
        if record is None or record.used_at is not None or record.expires_at <= now:
            raise InvalidToken("This link is invalid or has expired. Please ask for a new one.")
        # Single use even under concurrent clicks: only one UPDATE can flip used_at.
        result = await self.session.execute(
            update(EmailToken)
            .where(EmailToken.id == record.id, EmailToken.used_at.is_(None))
            .values(used_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidToken("This link has already been used.")
        return record
