"""People: user accounts with their consents, pictures, RFID cards and vehicles."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.base import Base, Timestamps, UUIDPrimaryKey, utcnow
from backend.db.models.enums import str_enum


class Role(enum.StrEnum):
    BASIC = "basic"
    ADMIN = "admin"
    DEMO = "demo"
    # The data protection officer: a basic user who also confirms erasure requests and reads or
    # exports any person's data (backend.domain.privacy).
    DPO = "dpo"


class UserStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    INACTIVE = "inactive"
    BLOCKED = "blocked"
    LOCKED = "locked"


class Purpose(enum.StrEnum):
    """Processing a person may object to (`User.objections`). Each is honoured where it runs;
    `backend.domain.privacy.restrictions` is the one filter every such place applies.

    Not listed, because they cannot be objected to: charging itself and its access control
    (the service asked for), billing and invoices (a legal obligation), the audit log
    (accountability), account and security mails.
    """

    # Statistics that count the person's sessions beyond their own view (per site, station,
    # organization).
    ANALYTICS = "analytics"
    # Anonymized sessions exported by admins for data scientists.
    DATA_SCIENCE_EXPORT = "data_science_export"
    # Learning charging demand per site from session history.
    DEMAND_PREDICTION = "demand_prediction"
    # Smart charging planning with the person's own vehicle (battery, max power) instead of
    # the station's defaults.
    SMART_CHARGING_PERSONALIZATION = "smart_charging_personalization"


# What `User.exclude_from_analytics` (the restriction of processing) switches off at once.
RESTRICTED_BY_ANALYTICS_OPT_OUT = frozenset(
    {Purpose.ANALYTICS, Purpose.DATA_SCIENCE_EXPORT, Purpose.DEMAND_PREDICTION}
)


class Language(enum.StrEnum):
    EN = "en"
    FR = "fr"
    DE = "de"


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    mobile: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[Language] = mapped_column(str_enum(Language, 8), default=Language.EN)
    address_street: Mapped[str | None] = mapped_column(String(200))
    address_postal_code: Mapped[str | None] = mapped_column(String(20))
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_region: Mapped[str | None] = mapped_column(String(100))
    address_country: Mapped[str | None] = mapped_column(String(100))
    professional_id: Mapped[str | None] = mapped_column(String(64))
    cost_center: Mapped[str | None] = mapped_column(String(64))
    company: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.BASIC)
    status: Mapped[UserStatus] = mapped_column(str_enum(UserStatus), default=UserStatus.PENDING)
    email_verified_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    picture_sha256: Mapped[str | None] = mapped_column(String(64))
    # --- data rights (backend.domain.privacy) ---
    # Restriction of processing: the person's sessions stay out of analytics, data-science
    # exports and demand prediction.
    exclude_from_analytics: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Mails that are not needed for the account, security or accounting (session summaries…).
    nonessential_notifications: Mapped[bool] = mapped_column(default=True, server_default=true())
    # `Purpose` values the person objected to.
    objections: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Erasure: asked for (waiting for an admin or the DPO), warned of (automatic erasure after
    # inactivity), done. An erased account keeps only `pseudonym` as its name.
    erasure_requested_at: Mapped[datetime | None]
    erasure_warning_sent_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    pseudonym: Mapped[str | None] = mapped_column(String(32))

    picture: Mapped[UserPicture | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="raise"
    )
    consents: Mapped[list[ConsentRecord]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="raise"
    )
    rfid_cards: Mapped[list[RfidCard]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="raise"
    )
    vehicles: Mapped[list[Vehicle]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="raise"
    )

    __table_args__ = (
        Index("ix_users_role_status", "role", "status"),
        Index("ix_users_last_login_at", "last_login_at"),
        Index("ix_users_last_name_first_name", "last_name", "first_name"),
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class UserPicture(Base):
    """Kept in the database, not on one host's disk, so every server process can serve it."""

    __tablename__ = "user_pictures"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="picture", lazy="raise")


class ConsentRecord(UUIDPrimaryKey, Base):
    """One explicit consent to one version of the privacy policy."""

    __tablename__ = "consent_records"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    policy_version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="consents", lazy="raise")

    __table_args__ = (
        Index("ix_consent_records_user_id_policy_version", "user_id", "policy_version"),
    )


class RfidCard(UUIDPrimaryKey, Timestamps, Base):
    """A badge: one owner per card, many cards per user."""

    __tablename__ = "rfid_cards"

    uid: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)

    user: Mapped[User] = relationship(back_populates="rfid_cards", lazy="raise")


class Vehicle(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "vehicles"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    plate: Mapped[str] = mapped_column(String(20))
    vin: Mapped[str | None] = mapped_column(String(17))
    make: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(64))
    battery_capacity_wh: Mapped[int | None]
    max_ac_power_w: Mapped[int | None]
    max_dc_power_w: Mapped[int | None]
    ac_phases: Mapped[int] = mapped_column(default=3)
    is_default: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship(back_populates="vehicles", lazy="raise")

    __table_args__ = (
        UniqueConstraint("user_id", "plate"),
        # At most one default vehicle per user, enforced by the database itself.
        Index(
            "uq_vehicles_default_per_user",
            "user_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )
