"""Profiles and user administration."""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass, fields
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import Language, Role, User, UserPicture, UserStatus
from backend.domain import audit, passwords
from backend.domain.access import require_admin, require_self_or_admin
from backend.domain.accounts import clean_name, normalize_email
from backend.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.domain.viewer import Viewer

UNSET: Any = object()

_LIMITS = {
    "phone": 32,
    "mobile": 32,
    "address_street": 200,
    "address_postal_code": 20,
    "address_city": 100,
    "address_region": 100,
    "address_country": 100,
    "professional_id": 64,
    "cost_center": 64,
    "company": 200,
    "department": 200,
}
PICTURE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
MAX_PICTURE_PIXELS = 4096 * 4096


@dataclass
class ProfileChanges:
    """Fields a person may change about themself; UNSET leaves a field as it is."""

    first_name: Any = UNSET
    last_name: Any = UNSET
    phone: Any = UNSET
    mobile: Any = UNSET
    language: Any = UNSET
    address_street: Any = UNSET
    address_postal_code: Any = UNSET
    address_city: Any = UNSET
    address_region: Any = UNSET
    address_country: Any = UNSET
    professional_id: Any = UNSET
    cost_center: Any = UNSET
    company: Any = UNSET
    department: Any = UNSET


def _graphql_name(attr: str) -> str:
    head, *rest = attr.split("_")
    if head == "address":
        return "address." + rest[0] + "".join(p.title() for p in rest[1:])
    return head + "".join(p.title() for p in rest)


def _clean_optional(attr: str, value: Any) -> str | None:
    if value is None:
        return None
    value = " ".join(str(value).split())
    if len(value) > _LIMITS[attr]:
        raise InvalidInput(f"At most {_LIMITS[attr]} characters.", field=_graphql_name(attr))
    if attr in ("phone", "mobile") and value and not all(c in "+0123456789 ()./-" for c in value):
        raise InvalidInput("A phone number has only digits, spaces and + ( ) . / -.", field=attr)
    return value or None


class Users:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> User:
        user = await self.session.get(User, user_id)
        # An erased account is only a pseudonym kept for accounting: nothing to edit.
        if user is None or user.erased_at is not None:
            raise NotFound("No such user.")
        return user

    async def update_profile(
        self, viewer: Viewer, user_id: uuid.UUID | None, changes: ProfileChanges
    ) -> User:
        target_id = user_id or viewer.user_id
        require_self_or_admin(viewer, target_id)
        assert target_id is not None
        user = await self.get(target_id)
        changed = self._apply(user, changes)
        if changed:
            audit.record(self.session, viewer.user_id, "user.update_profile", user, fields=changed)
        await self.session.commit()
        return user

    def _apply(self, user: User, changes: ProfileChanges) -> list[str]:
        changed: list[str] = []
        for f in fields(changes):
            value = getattr(changes, f.name)
            if value is UNSET:
                continue
            if f.name in ("first_name", "last_name"):
                if value is None:
                    raise InvalidInput("This field is required.", field=_graphql_name(f.name))
                value = clean_name(value, _graphql_name(f.name))
            elif f.name == "language":
                if value is None:
                    continue
                value = Language(value)
            else:
                value = _clean_optional(f.name, value)
            if getattr(user, f.name) != value:
                setattr(user, f.name, value)
                changed.append(_graphql_name(f.name))
        return changed

    async def create_user(
        self,
        viewer: Viewer,
        *,
        email: str,
        first_name: str,
        last_name: str,
        role: Role,
        language: Language,
        password: str | None,
    ) -> User:
        require_admin(viewer)
        email = normalize_email(email)
        if await self.session.scalar(select(User.id).where(User.email == email)):
            raise Conflict("An account with this email already exists.", field="email")
        if password is not None:
            passwords.check_strength(password, email=email)
        user = User(
            email=email,
            first_name=clean_name(first_name, "firstName"),
            last_name=clean_name(last_name, "lastName"),
            role=role,
            language=language,
            # An administrator vouches for the address; the owner still consents at first login.
            status=UserStatus.ACTIVE,
            email_verified_at=utcnow(),
            password_hash=passwords.hash_password(password) if password else None,
        )
        self.session.add(user)
        await self.session.flush()
        audit.record(self.session, viewer.user_id, "user.create", user, role=role.value)
        await self.session.commit()
        return user

    async def admin_update(
        self,
        viewer: Viewer,
        user_id: uuid.UUID,
        *,
        role: Role | None = None,
        status: UserStatus | None = None,
        email: str | None = None,
        profile: ProfileChanges | None = None,
    ) -> User:
        require_admin(viewer)
        user = await self.get(user_id)
        changed: list[str] = []
        if user.id == viewer.user_id and (
            (role is not None and role is not Role.ADMIN)
            or (status is not None and status is not UserStatus.ACTIVE)
        ):
            raise Forbidden(
                "You cannot remove your own administrator rights or deactivate yourself."
            )
        if role is not None and role is not user.role:
            user.role = role
            changed.append("role")
        if status is not None and status is not user.status:
            user.status = status
            if status is UserStatus.ACTIVE:
                user.failed_login_count = 0
                user.locked_until = None
            changed.append("status")
        if email is not None:
            new_email = normalize_email(email)
            if new_email != user.email:
                if await self.session.scalar(select(User.id).where(User.email == new_email)):
                    raise Conflict("An account with this email already exists.", field="email")
                user.email = new_email
                changed.append("email")
        if profile is not None:
            changed += self._apply(user, profile)
        if changed:
            audit.record(self.session, viewer.user_id, "user.admin_update", user, fields=changed)
        await self.session.commit()
        return user

    async def set_picture(
        self, viewer: Viewer, user_id: uuid.UUID | None, data: bytes, max_bytes: int
    ) -> User:
        target_id = user_id or viewer.user_id
        require_self_or_admin(viewer, target_id)
        assert target_id is not None
        user = await self.get(target_id)
        if len(data) > max_bytes:
            raise InvalidInput(
                f"The picture is too large (at most {max_bytes // (1024 * 1024)} MB).", field="file"
            )
        content_type, clean = _sanitize_picture(data)
        await self.session.execute(delete(UserPicture).where(UserPicture.user_id == user.id))
        self.session.add(UserPicture(user_id=user.id, content_type=content_type, data=clean))
        user.picture_sha256 = hashlib.sha256(clean).hexdigest()
        audit.record(self.session, viewer.user_id, "user.set_picture", user)
        await self.session.commit()
        return user

    async def remove_picture(self, viewer: Viewer, user_id: uuid.UUID | None) -> User:
        target_id = user_id or viewer.user_id
        require_self_or_admin(viewer, target_id)
        assert target_id is not None
        user = await self.get(target_id)
        await self.session.execute(delete(UserPicture).where(UserPicture.user_id == user.id))
        user.picture_sha256 = None
        audit.record(self.session, viewer.user_id, "user.remove_picture", user)
        await self.session.commit()
        return user

    async def picture(self, user_id: uuid.UUID) -> UserPicture | None:
        return await self.session.get(UserPicture, user_id)


def _sanitize_picture(data: bytes) -> tuple[str, bytes]:
    """Decode the upload and encode it again: only real PNG, JPEG or WebP images are kept,
    and whatever else the file carried (EXIF with GPS position, scripts) is dropped."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            # Phones write JPEGs with extra pictures (MPO); the first picture is the photo.
            kind = "JPEG" if probe.format == "MPO" else probe.format
            if kind not in PICTURE_TYPES:
                raise InvalidInput("Use a PNG, JPEG or WebP picture.", field="file")
            if probe.width * probe.height > MAX_PICTURE_PIXELS:
                raise InvalidInput("The picture has too many pixels.", field="file")
            probe.load()
            image = probe.copy()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidInput("This file is not a picture we can read.", field="file") from exc
    image.thumbnail((512, 512))
    if kind == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format=kind)
    return PICTURE_TYPES[kind], out.getvalue()
