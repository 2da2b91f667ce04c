"""Login sessions and one-time email tokens. Only hashes of secrets are stored."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.base import Base, UUIDPrimaryKey, utcnow
from backend.db.models.enums import str_enum
from backend.db.models.users import User


class AuthSession(UUIDPrimaryKey, Base):
    __tablename__ = "auth_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="raise")

    __table_args__ = (Index("ix_auth_sessions_user_id_expires_at", "user_id", "expires_at"),)


class EmailTokenPurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"


class EmailToken(UUIDPrimaryKey, Base):
    __tablename__ = "email_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[EmailTokenPurpose] = mapped_column(str_enum(EmailTokenPurpose, 24))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="raise")

    __table_args__ = (Index("ix_email_tokens_user_id_purpose", "user_id", "purpose"),)


class ThrottleWindow(Base):
    """How many times one client address has done something limited (a failed login, a request
    that sends an email) in the current window; shared by every server process. The address is
    kept only as a keyed hash, and a row is dropped once its window is long over."""

    __tablename__ = "throttle_windows"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_throttle_windows_window_started_at", "window_started_at"),)
