"""Where charging happens: sites, their members, and site areas with their power limits."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.base import Base, Timestamps, UUIDPrimaryKey, utcnow
from backend.db.models.enums import str_enum
from backend.db.models.users import User


class SiteRole(enum.StrEnum):
    MEMBER = "member"
    SITE_ADMIN = "site_admin"
    SITE_OWNER = "site_owner"


class Site(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "sites"

    name: Mapped[str] = mapped_column(String(200), index=True)
    address_street: Mapped[str | None] = mapped_column(String(200))
    address_postal_code: Mapped[str | None] = mapped_column(String(20))
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_region: Mapped[str | None] = mapped_column(String(100))
    address_country: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")

    areas: Mapped[list[SiteArea]] = relationship(
        back_populates="site", cascade="all, delete-orphan", lazy="raise"
    )


class SiteMember(Base):
    """A user assigned to a site (may charge there), possibly with site-admin rights."""

    __tablename__ = "site_members"

    site_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[SiteRole] = mapped_column(str_enum(SiteRole), default=SiteRole.MEMBER)

    site: Mapped[Site] = relationship(lazy="raise")
    user: Mapped[User] = relationship(lazy="raise")


class SiteArea(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "site_areas"

    site_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    # Areas nest (a building's feeder inside the site's grid connection) for load management.
    parent_area_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("site_areas.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    max_power_w: Mapped[int]
    phases: Mapped[int] = mapped_column(default=3)
    voltage: Mapped[int] = mapped_column(default=230)
    access_control: Mapped[bool] = mapped_column(default=True)
    smart_charging: Mapped[bool] = mapped_column(default=False)

    site: Mapped[Site] = relationship(back_populates="areas", lazy="raise")


class SiteAreaRegistrationToken(UUIDPrimaryKey, Base):
    """Lets unknown stations register themselves into a site area (token in the OCPP URL).

    Only the SHA-256 of the token is kept; the token itself is shown once to its creator.
    """

    __tablename__ = "site_area_registration_tokens"

    site_area_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("site_areas.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str | None] = mapped_column(String(200))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    site_area: Mapped[SiteArea] = relationship(lazy="raise")
