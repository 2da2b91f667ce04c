"""Erasure ("right to oblivion"): on request, and after a long inactivity (`erasure_job`).

**On request.** The person asks (`request`; an admin or the data protection officer may record
the request for them); an admin or the DPO confirms (`confirm`) — never the person themself —
or the request is cancelled (`cancel`). Requests are listed for admins and the DPO (`pending`).

**What erasure does** (`erase`, one transaction, at most once per person even with many
processes: the first statement is a conditional UPDATE that claims the row):

- The account row stays, so that the sessions, invoices and audit entries that point to it
  keep pointing to *someone*, but that someone is only a pseudonym (`ERASED-…`, an HMAC of the
  id under the deployment's secret: stable, and nothing leads back to the person): first name
  "Erased", last name the pseudonym, email `erased-…@erased.invalid` (unique, never routed);
  phone, mobile, address, professional id, cost center, company, department, picture, password,
  login dates are emptied; the account is inactive (no login is possible) and a plain user.
- Deleted: picture, RFID cards, vehicles, login sessions, email tokens, site assignments, the
  payment provider's account row — and the provider's customer itself through the gateway
  (`delete_customer`; with Stripe: the customer and its payment methods).
- Kept for accounting, with the person replaced by the pseudonym: charging sessions (their
  badge number `id_tag` becomes the pseudonym) and invoices (buyer name = pseudonym, buyer
  email, address and the provider's page emptied; amounts, lines, numbers and dates kept:
  invoices must legally be kept for years). Refund reasons and errors are scrubbed of the
  person's values.
- Kept as the operator's proof, without anything personal: consent records (policy version
  and times), the audit log (actions, dates, ids; any personal value found in an entry's
  details is replaced by the pseudonym), the system logs (the same, in their message and
  details, until they expire: `backend.domain.system_logs`), restrictions and objections
  (what the person refused stays refused for their pseudonymized sessions).
- Records of unknown badges carrying one of the person's card numbers are deleted.

**When erasure waits** (`ErasureBlocked`): while a session of the person is running or still
being billed (its invoice not issued, pushed or mailed yet, or a refund in progress), and for
the last active administrator. Confirming again later, or the next run of the job, erases.

Nothing personal is kept elsewhere: there is no search index (search runs on the tables
themselves), exports are built from the tables at download time, and the application's logs
name people by id only (but without an SMTP host, the mailer prints whole mails to the console:
a development fallback, not for production).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.like import escape_like
from backend.db.models import (
    AuditEntry,
    AuthSession,
    BillingAccount,
    BillingState,
    ChargingSession,
    EmailToken,
    Invoice,
    InvoiceLine,
    Language,
    LogCategory,
    LogLevel,
    Refund,
    RfidCard,
    Role,
    SessionStatus,
    SiteMember,
    SystemLogEntry,
    UnknownBadge,
    User,
    UserPicture,
    UserStatus,
    Vehicle,
)
from backend.domain import audit, system_logs
from backend.domain.access import (
    require_data_rights_officer,
    require_self_or_data_rights_officer,
)
from backend.domain.billing.gateway import GatewayError, PaymentGateway
from backend.domain.errors import Conflict, DomainError, Forbidden, NotFound
from backend.domain.mailer import Mailer
from backend.domain.privacy import mails
from backend.domain.viewer import Viewer
from backend.settings import Settings

log = logging.getLogger("vev_iq.privacy")

ERASED_DOMAIN = "erased.invalid"
ERASED_FIRST_NAME = "Erased"


class ErasureBlocked(DomainError):
    """The person cannot be erased yet (a running session, billing in progress, the last
    administrator); the message says why."""

    code = "ERASURE_BLOCKED"


def erased_pseudonym(secret: str, user_id: uuid.UUID) -> str:
    digest = hmac.new(secret.encode(), f"erased:{user_id}".encode(), hashlib.sha256).hexdigest()
    return f"ERASED-{digest[:12].upper()}"


def erased_email(pseudonym: str) -> str:
    return f"{pseudonym.lower()}@{ERASED_DOMAIN}"


@dataclass(frozen=True)
class ErasureResult:
    user_id: uuid.UUID
    pseudonym: str
    sessions: int  # sessions kept, pseudonymized
    invoices: int  # invoices kept, pseudonymized
    # The payment provider's customer: "deleted", "none" (there was none), or "kept" (the
    # provider is not the one this deployment uses: the operator deletes it by hand).
    provider_customer: str


# --- scrubbing free text ----------------------------------------------------------------------

# Values shorter than this are not searched in free text (a "Li" would match everywhere).
_MIN_SCRUB_LENGTH = 3


def _scrub_text(text: str, values: list[str], pseudonym: str) -> str:
    lowered = text.lower()
    for value in values:
        low = value.lower()
        start = lowered.find(low)
        while start >= 0:
            text = text[:start] + pseudonym + text[start + len(value) :]
            lowered = text.lower()
            start = lowered.find(low, start + len(pseudonym))
    return text


def _scrub(value: Any, values: list[str], pseudonym: str) -> Any:
    """`value` (text, or JSON made of dicts, lists and scalars) with every personal value
    replaced by the pseudonym, case-insensitively."""
    if isinstance(value, str):
        return _scrub_text(value, values, pseudonym)
    if isinstance(value, dict):
        return {
            _scrub(k, values, pseudonym): _scrub(v, values, pseudonym) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub(v, values, pseudonym) for v in value]
    return value


def _mentions(column: Any, values: list[str]) -> Any:
    """SQL: the text (or serialized JSON) of `column` contains one of `values`."""
    text = func.lower(cast(column, String))
    clauses = []
    for value in values:
        # JSON serializes non-ASCII characters as \\u escapes: look for both spellings.
        for spelling in {value.lower(), json.dumps(value.lower())[1:-1]}:
            clauses.append(text.like(f"%{escape_like(spelling)}%", escape="\\"))
    return or_(*clauses)


# --- the service ------------------------------------------------------------------------------


class Erasure:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        mailer: Mailer,
        gateway: PaymentGateway | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.mailer = mailer
        self.secret = settings.resolved_secret_key()
        if gateway is None:
            from backend.domain.billing.invoicing import gateway_for

            gateway = gateway_for(settings)
        self.gateway = gateway

    # --- requests ------------------------------------------------------------------------------

    async def request(self, viewer: Viewer, user_id: uuid.UUID | None = None) -> User:
        """The person asks to be erased (or an admin or the DPO records their request)."""
        target_id = user_id or viewer.user_id
        require_self_or_data_rights_officer(viewer, target_id)
        async with self.sessionmaker() as db:
            user = await _live_user(db, target_id)
            if user.erasure_requested_at is None:
                user.erasure_requested_at = utcnow()
                audit.record(db, viewer.user_id, "user.erasure_requested", user)
                await db.commit()
            return user

    async def cancel(self, viewer: Viewer, user_id: uuid.UUID | None = None) -> User:
        target_id = user_id or viewer.user_id
        require_self_or_data_rights_officer(viewer, target_id)
        async with self.sessionmaker() as db:
            user = await _live_user(db, target_id)
            if user.erasure_requested_at is not None:
                user.erasure_requested_at = None
                audit.record(db, viewer.user_id, "user.erasure_cancelled", user)
                await db.commit()
            return user

    async def pending(self, viewer: Viewer) -> list[User]:
        """Requests waiting for confirmation, oldest first."""
        require_data_rights_officer(viewer)
        async with self.sessionmaker() as db:
            rows = await db.scalars(
                select(User)
                .where(User.erasure_requested_at.is_not(None), User.erased_at.is_(None))
                .order_by(User.erasure_requested_at, User.id)
            )
            return list(rows)

    async def confirm(self, viewer: Viewer, user_id: uuid.UUID) -> ErasureResult:
        """An admin or the DPO confirms a person's request: the person is erased now."""
        require_data_rights_officer(viewer)
        if user_id == viewer.user_id:
            raise Forbidden(
                "Someone else must confirm the erasure of your own account.", field="userId"
            )
        async with self.sessionmaker() as db:
            user = await _live_user(db, user_id)
            if user.erasure_requested_at is None:
                raise Conflict(
                    "This person has not asked for erasure: record their request first.",
                    field="userId",
                )
        result = await self.erase(user_id, actor_id=viewer.user_id, reason="request")
        if result is None:
            raise NotFound("No such user.", field="userId")
        return result

    # --- erasure -------------------------------------------------------------------------------

    async def blocker(self, db: AsyncSession, user_id: uuid.UUID) -> str | None:
        """Why the person cannot be erased now, or None."""
        cs = ChargingSession
        running = await db.scalar(
            select(cs.id).where(cs.user_id == user_id, cs.status == SessionStatus.ACTIVE).limit(1)
        )
        if running is not None:
            return "A charging session of this person is running: erase once it has ended."
        billing = await db.scalar(
            select(cs.id)
            .where(
                cs.user_id == user_id,
                cs.billing_state.in_((BillingState.UNBILLED, BillingState.PENDING)),
            )
            .limit(1)
        )
        invoices = select(Invoice.id).where(Invoice.user_id == user_id)
        busy_invoice = await db.scalar(
            select(Invoice.id)
            .where(Invoice.user_id == user_id, Invoice.next_attempt_at.is_not(None))
            .limit(1)
        )
        busy_refund = await db.scalar(
            select(Refund.id)
            .where(Refund.invoice_id.in_(invoices), Refund.next_attempt_at.is_not(None))
            .limit(1)
        )
        if billing is not None or busy_invoice is not None or busy_refund is not None:
            return (
                "This person's last sessions are still being billed: erase once their invoices "
                "are issued and sent."
            )
        user = await db.get(User, user_id)
        if user is not None and user.role is Role.ADMIN and user.status is UserStatus.ACTIVE:
            others = await db.scalar(
                select(func.count())
                .select_from(User)
                .where(
                    User.role == Role.ADMIN, User.status == UserStatus.ACTIVE, User.id != user_id
                )
            )
            if not others:
                return "The last active administrator cannot be erased."
        return None

    async def erase(
        self, user_id: uuid.UUID, *, actor_id: uuid.UUID | None, reason: str
    ) -> ErasureResult | None:
        """Erase the person now (see the module's docstring). None when they were erased
        already (by another process, say). Raises ErasureBlocked when they cannot be yet."""
        pseudonym = erased_pseudonym(self.secret, user_id)
        # 1. Checks, and the provider's customer, outside the erasing transaction: a call to the
        # provider must not hold the database's write lock.
        async with self.sessionmaker() as db:
            user = await db.get(User, user_id)
            if user is None or user.erased_at is not None:
                return None
            why = await self.blocker(db, user_id)
            if why is not None:
                raise ErasureBlocked(why, field="userId")
            account = await db.get(BillingAccount, user_id)
        provider_customer = await self._forget_customer(user_id, account)

        # 2. One transaction, whose first statement claims the person: once per person.
        async with self.sessionmaker() as db:
            now = utcnow()
            claimed = await db.execute(
                update(User)
                .where(User.id == user_id, User.erased_at.is_(None))
                .values(erased_at=now, pseudonym=pseudonym)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                await db.rollback()
                return None
            why = await self.blocker(db, user_id)  # a session may have started meanwhile
            if why is not None:
                await db.rollback()
                raise ErasureBlocked(why, field="userId")
            user = await db.get_one(User, user_id, populate_existing=True)
            address, language = user.email, user.language
            notify = user.email_verified_at is not None
            values = await self._personal_values(db, user)
            sessions, invoices = await self._pseudonymize(db, user, values, pseudonym)
            self._empty_profile(user, pseudonym)
            audit.record(db, actor_id, "user.erased", user, reason=reason)
            system_logs.record(
                db,
                LogLevel.INFO,
                LogCategory.SECURITY,
                "security.user_erased",
                "A person was erased; their account row keeps only a pseudonym.",
                user_id=user_id,
                details={"reason": reason, "by_admin": actor_id is not None},
            )
            await db.commit()
        log.info("user %s erased (%s)", user_id, reason)
        if notify:
            await self._farewell(address, language, reason)
        return ErasureResult(user_id, pseudonym, sessions, invoices, provider_customer)

    async def _forget_customer(self, user_id: uuid.UUID, account: BillingAccount | None) -> str:
        if account is None or not account.customer_id or account.provider == "local":
            return "none"
        if account.provider != self.gateway.name:
            # The customer lives at a provider this deployment cannot reach (any more): the
            # operator deletes it there by hand. Only ids are logged.
            log.warning(
                "erasure of user %s: customer %s at %s must be deleted by hand",
                user_id,
                account.customer_id,
                account.provider,
            )
            return "kept"
        try:
            await self.gateway.delete_customer(account.customer_id)
        except GatewayError as exc:
            raise ErasureBlocked(
                "The payment provider could not delete this person's customer record "
                f"({exc}); try again later.",
                field="userId",
            ) from exc
        return "deleted"

    async def _personal_values(self, db: AsyncSession, user: User) -> list[str]:
        """Every personal value of the person, to find them in free text and JSON."""
        values: set[str] = {user.email, user.full_name}
        for attr in (
            "first_name",
            "last_name",
            "phone",
            "mobile",
            "address_street",
            "address_postal_code",
            "address_city",
            "address_region",
            "professional_id",
            "cost_center",
            "company",
            "department",
        ):
            value = getattr(user, attr)
            if value:
                values.add(value)
        cards = (
            await db.execute(
                select(RfidCard.uid, RfidCard.description).where(RfidCard.user_id == user.id)
            )
        ).all()
        for uid, description in cards:
            values.add(uid)
            if description:
                values.add(description)
        for plate, vin in (
            await db.execute(select(Vehicle.plate, Vehicle.vin).where(Vehicle.user_id == user.id))
        ).all():
            values.add(plate)
            if vin:
                values.add(vin)
        # What earlier invoices copied (the person may have changed their name since).
        for name, email, address in (
            await db.execute(
                select(Invoice.buyer_name, Invoice.buyer_email, Invoice.buyer_address).where(
                    Invoice.user_id == user.id
                )
            )
        ).all():
            values.update(v for v in (name, email) if v)
            values.update(line for line in (address or "").split("\n") if line.strip())
        # Longest first, so that "Ada Lovelace" is replaced before "Ada".
        return sorted(
            {v.strip() for v in values if v and len(v.strip()) >= _MIN_SCRUB_LENGTH},
            key=lambda v: (-len(v), v),
        )

    async def _pseudonymize(
        self, db: AsyncSession, user: User, values: list[str], pseudonym: str
    ) -> tuple[int, int]:
        uid = user.id
        card_uids = list(await db.scalars(select(RfidCard.uid).where(RfidCard.user_id == uid)))
        cs = ChargingSession
        sessions_of = (
            or_(cs.user_id == uid, cs.id_tag.in_(card_uids)) if card_uids else (cs.user_id == uid)
        )
        sessions = await db.execute(
            update(cs)
            .where(sessions_of)
            .values(id_tag=pseudonym)
            .execution_options(synchronize_session=False)
        )
        if card_uids:
            await db.execute(delete(UnknownBadge).where(UnknownBadge.uid.in_(card_uids)))

        invoices = list(await db.scalars(select(Invoice).where(Invoice.user_id == uid)))
        for invoice in invoices:
            invoice.buyer_name = pseudonym
            invoice.buyer_email = None
            invoice.buyer_address = None
            # The provider's page shows the buyer as the provider knew them.
            invoice.hosted_url = None
            if invoice.last_error:
                invoice.last_error = _scrub(invoice.last_error, values, pseudonym)
        invoice_ids = [i.id for i in invoices]
        if invoice_ids:
            for refund in await db.scalars(
                select(Refund).where(Refund.invoice_id.in_(invoice_ids))
            ):
                refund.reason = _scrub(refund.reason, values, pseudonym)
                if refund.last_error:
                    refund.last_error = _scrub(refund.last_error, values, pseudonym)
            for line in await db.scalars(
                select(InvoiceLine).where(InvoiceLine.invoice_id.in_(invoice_ids))
            ):
                line.description = _scrub(line.description, values, pseudonym)
        if values:
            for entry in await db.scalars(
                select(AuditEntry).where(_mentions(AuditEntry.details, values))
            ):
                entry.details = _scrub(entry.details, values, pseudonym)
            # System logs name people by id; whatever slipped into a message or details (a
            # station's error text quoting a badge, say) is replaced too.
            logs = SystemLogEntry
            for row in await db.scalars(
                select(logs).where(
                    or_(_mentions(logs.details, values), _mentions(logs.message, values))
                )
            ):
                row.details = _scrub(row.details, values, pseudonym)
                row.message = _scrub(row.message, values, pseudonym)[:200]

        for model in (UserPicture, RfidCard, Vehicle, AuthSession, EmailToken, SiteMember):
            await db.execute(delete(model).where(model.user_id == uid))  # type: ignore[attr-defined]
        await db.execute(delete(BillingAccount).where(BillingAccount.user_id == uid))
        return int(sessions.rowcount), len(invoices)  # type: ignore[attr-defined]

    def _empty_profile(self, user: User, pseudonym: str) -> None:
        user.email = erased_email(pseudonym)
        user.first_name = ERASED_FIRST_NAME
        user.last_name = pseudonym
        for attr in (
            "password_hash",
            "phone",
            "mobile",
            "address_street",
            "address_postal_code",
            "address_city",
            "address_region",
            "address_country",
            "professional_id",
            "cost_center",
            "company",
            "department",
            "picture_sha256",
            "email_verified_at",
            "last_login_at",
            "locked_until",
        ):
            setattr(user, attr, None)
        user.failed_login_count = 0
        user.role = Role.BASIC
        user.status = UserStatus.INACTIVE

    async def _farewell(self, address: str, language: Language, reason: str) -> None:
        why = mails.text("why_request" if reason == "request" else "why_inactivity", language)
        await self.mailer.send(mails.render("erased", language, address, why=why))


async def _live_user(db: AsyncSession, user_id: uuid.UUID | None) -> User:
    user = await db.get(User, user_id) if user_id is not None else None
    if user is None or user.erased_at is not None:
        raise NotFound("No such user.", field="userId")
    return user
