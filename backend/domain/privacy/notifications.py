"""Which mails a person may turn off, and the one gate every notification passes.

Essential mails are always sent: they concern the account and its security (email
verification, password reset, account status), money (invoices, refunds) or the person's data
rights (the warning before automatic erasure). Everything else is non-essential: the person
turns it off with `User.nonessential_notifications`, and it also stops while their consent is
withdrawn. Code that sends a mail about charging (session started, ended with its summary, end
of charge, car idle) calls `notify`, never the mailer directly.
"""

from __future__ import annotations

import enum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import User
from backend.domain.mailer import Mail, Mailer
from backend.domain.privacy.restrictions import consent_withdrawn


class NotificationKind(enum.StrEnum):
    # essential
    ACCOUNT_SECURITY = "account_security"
    ACCOUNT_STATUS = "account_status"
    INVOICE = "invoice"
    REFUND = "refund"
    ERASURE_WARNING = "erasure_warning"
    # non-essential
    SESSION_STARTED = "session_started"
    SESSION_ENDED = "session_ended"
    END_OF_CHARGE = "end_of_charge"
    CAR_IDLE = "car_idle"


ESSENTIAL = frozenset(
    {
        NotificationKind.ACCOUNT_SECURITY,
        NotificationKind.ACCOUNT_STATUS,
        NotificationKind.INVOICE,
        NotificationKind.REFUND,
        NotificationKind.ERASURE_WARNING,
    }
)


def is_essential(kind: NotificationKind) -> bool:
    return kind in ESSENTIAL


async def may_notify(session: AsyncSession, user_id: object, kind: NotificationKind) -> bool:
    """Whether a mail of `kind` may go to the person (one query)."""
    row = (
        await session.execute(
            select(User.nonessential_notifications, User.erased_at, consent_withdrawn()).where(
                User.id == user_id
            )
        )
    ).one_or_none()
    if row is None:
        return False
    wants, erased_at, withdrawn = row
    if erased_at is not None:
        return False  # nobody is left to write to
    if is_essential(kind):
        return True
    return bool(wants) and not withdrawn


async def notify(
    session: AsyncSession, mailer: Mailer, user_id: object, kind: NotificationKind, mail: Mail
) -> bool:
    """Send `mail` if the person allows mails of `kind`. True when it was sent."""
    if not await may_notify(session, user_id, kind):
        return False
    return await mailer.send(mail)
