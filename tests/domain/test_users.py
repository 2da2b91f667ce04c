"""Profiles, user administration and profile pictures."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuditEntry, Language, Role, User, UserPicture, UserStatus
from backend.domain.accounts import Accounts
from backend.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from backend.domain.mailer import Mailer
from backend.domain.users import ProfileChanges, Users
from backend.domain.viewer import ANONYMOUS, Viewer
from backend.settings import Settings
from tests.conftest import Person, unique_email

PHONE = "+33 6 12 34 56 78"
MB = 1024 * 1024


async def viewer_of(db: AsyncSession, settings: Settings, person: Person) -> Viewer:
    viewer = await Accounts(db, settings, Mailer(settings)).viewer_for_token(person.token)
    assert viewer.user_id == person.id
    return viewer


async def audit_of(db: AsyncSession, user_id: uuid.UUID, action: str) -> list[AuditEntry]:
    return list(
        (
            await db.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == action, AuditEntry.target_id == str(user_id))
                .order_by(AuditEntry.id)
            )
        ).all()
    )


# --- profile ---------------------------------------------------------------------------------


async def test_profile_update_audits_field_names_never_values(
    db: AsyncSession, settings: Settings, make_user: Any
) -> None:
    person = await make_user()
    viewer = await viewer_of(db, settings, person)
    users = Users(db)
    changes = ProfileChanges(
        phone=PHONE,
        mobile="  06 99   88 77 66 ",
        company="Secret Lab",
        address_city="Grenoble",
        address_postal_code="38000",
        language=Language.DE,
        first_name="Ada",  # unchanged: not recorded
    )
    user = await users.update_profile(viewer, None, changes)
    assert (user.phone, user.mobile, user.company) == (PHONE, "06 99 88 77 66", "Secret Lab")
    assert (user.address_city, user.address_postal_code, user.language) == (
        "Grenoble",
        "38000",
        Language.DE,
    )

    [entry] = await audit_of(db, person.id, "user.update_profile")
    assert entry.actor_user_id == person.id
    assert entry.details == {
        "fields": sorted(
            ["phone", "mobile", "company", "address.city", "address.postalCode", "language"]
        )
    }
    recorded = json.dumps(entry.details)
    for secret in (PHONE, "06 99 88 77 66", "Secret Lab", "Grenoble", "38000"):
        assert secret not in recorded
    # Nor anywhere else in the audit log.
    everything = json.dumps([e.details for e in (await db.scalars(select(AuditEntry))).all()])
    assert PHONE not in everything and "Secret Lab" not in everything

    # Saving the same values again changes nothing and writes no entry.
    await users.update_profile(viewer, None, changes)
    assert len(await audit_of(db, person.id, "user.update_profile")) == 1

    # Clearing a field is a change of that field only.
    await users.update_profile(viewer, None, ProfileChanges(phone=None))
    entries = await audit_of(db, person.id, "user.update_profile")
    assert entries[-1].details == {"fields": ["phone"]}
    db.expire_all()
    assert (await db.get_one(User, person.id)).phone is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (ProfileChanges(phone="call me maybe"), "phone"),
        (ProfileChanges(mobile="+33 6 <script>"), "mobile"),
        (ProfileChanges(phone="1" * 33), "phone"),
        (ProfileChanges(first_name=None), "firstName"),
        (ProfileChanges(last_name="   "), "lastName"),
        (ProfileChanges(address_postal_code="9" * 21), "address.postalCode"),
        (ProfileChanges(address_street="s" * 201), "address.street"),
        (ProfileChanges(professional_id="p" * 65), "professionalId"),
        (ProfileChanges(cost_center="c" * 65), "costCenter"),
        (ProfileChanges(department="d" * 201), "department"),
    ],
)
async def test_profile_validation_names_the_field(
    db: AsyncSession, settings: Settings, make_user: Any, changes: ProfileChanges, field: str
) -> None:
    person = await make_user()
    with pytest.raises(InvalidInput) as caught:
        await Users(db).update_profile(await viewer_of(db, settings, person), None, changes)
    await db.rollback()
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "field": field}
    assert await audit_of(db, person.id, "user.update_profile") == []


async def test_only_self_or_admin_update_a_profile(
    db: AsyncSession, settings: Settings, make_user: Any
) -> None:
    person = await make_user()
    for intruder in (await make_user(), await make_user(Role.DEMO)):
        with pytest.raises(Forbidden):
            await Users(db).update_profile(
                await viewer_of(db, settings, intruder), person.id, ProfileChanges(phone="1")
            )
    with pytest.raises(Unauthenticated):
        await Users(db).update_profile(ANONYMOUS, person.id, ProfileChanges(phone="1"))
    admin = await viewer_of(db, settings, await make_user(Role.ADMIN))
    user = await Users(db).update_profile(admin, person.id, ProfileChanges(company="ACME"))
    assert user.company == "ACME"
    [entry] = await audit_of(db, person.id, "user.update_profile")
    assert entry.actor_user_id == admin.user_id
    assert entry.details == {"fields": ["company"]}


# --- administration --------------------------------------------------------------------------


async def test_admin_cannot_demote_or_deactivate_self(
    db: AsyncSession, settings: Settings, make_user: Any
) -> None:
    person = await make_user(Role.ADMIN)
    admin = await viewer_of(db, settings, person)
    users = Users(db)
    for kwargs in (
        {"role": Role.BASIC},
        {"role": Role.DEMO},
        {"status": UserStatus.INACTIVE},
        {"status": UserStatus.BLOCKED},
        {"status": UserStatus.LOCKED},
    ):
        with pytest.raises(Forbidden):
            await users.admin_update(admin, person.id, **kwargs)
        await db.rollback()
    db.expire_all()
    stored = await db.get_one(User, person.id)
    assert (stored.role, stored.status) == (Role.ADMIN, UserStatus.ACTIVE)
    # What is harmless stays allowed.
    same = await users.admin_update(
        admin, person.id, role=Role.ADMIN, profile=ProfileChanges(department="IT")
    )
    assert same.department == "IT"


async def test_admin_updates_another_user(
    db: AsyncSession, settings: Settings, make_user: Any
) -> None:
    admin = await viewer_of(db, settings, await make_user(Role.ADMIN))
    other_admin = await make_user(Role.ADMIN)
    taken = await make_user()
    users = Users(db)

    demoted = await users.admin_update(
        admin, other_admin.id, role=Role.BASIC, status=UserStatus.BLOCKED
    )
    assert (demoted.role, demoted.status) == (Role.BASIC, UserStatus.BLOCKED)
    [entry] = await audit_of(db, other_admin.id, "user.admin_update")
    assert entry.details == {"fields": ["role", "status"]}
    # The blocked person's session stops working at once.
    assert await Accounts(db, settings, Mailer(settings)).viewer_for_token(other_admin.token) == (
        ANONYMOUS
    )

    with pytest.raises(Conflict) as caught:
        await users.admin_update(admin, other_admin.id, email=taken.email.upper())
    await db.rollback()
    assert caught.value.extensions["field"] == "email"
    with pytest.raises(InvalidInput) as invalid:
        await users.admin_update(admin, other_admin.id, email="nope")
    await db.rollback()
    assert invalid.value.extensions["field"] == "email"
    with pytest.raises(NotFound):
        await users.admin_update(admin, uuid.uuid4(), role=Role.BASIC)
    await db.rollback()

    new_email = unique_email("renamed")
    renamed = await users.admin_update(admin, other_admin.id, email=new_email.upper())
    assert renamed.email == new_email
    entries = await audit_of(db, other_admin.id, "user.admin_update")
    assert entries[-1].details == {"fields": ["email"]}
    assert new_email not in json.dumps(entries[-1].details)

    basic = await viewer_of(db, settings, taken)
    with pytest.raises(Forbidden):
        await users.admin_update(basic, other_admin.id, role=Role.ADMIN)


async def test_reactivating_a_locked_user_resets_the_lockout(
    db: AsyncSession, settings: Settings, make_user: Any
) -> None:
    from datetime import timedelta

    from backend.db.base import utcnow

    admin = await viewer_of(db, settings, await make_user(Role.ADMIN))
    locked = await make_user()
    user = await db.get_one(User, locked.id)
    user.status, user.failed_login_count = UserStatus.LOCKED, 9
    user.locked_until = utcnow() + timedelta(minutes=10)
    await db.commit()
    result = await Users(db).admin_update(admin, locked.id, status=UserStatus.ACTIVE)
    assert (result.status, result.failed_login_count, result.locked_until) == (
        UserStatus.ACTIVE,
        0,
        None,
    )


async def test_admin_creates_users(db: AsyncSession, settings: Settings, make_user: Any) -> None:
    admin = await viewer_of(db, settings, await make_user(Role.ADMIN))
    users = Users(db)
    address = unique_email("created")
    user = await users.create_user(
        admin,
        email=address.upper(),
        first_name=" Grace ",
        last_name="Hopper",
        role=Role.DEMO,
        language=Language.FR,
        password="a long enough pass 9",
    )
    assert (user.email, user.first_name, user.role, user.status) == (
        address,
        "Grace",
        Role.DEMO,
        UserStatus.ACTIVE,
    )
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert user.email_verified_at is not None
    with pytest.raises(Conflict):
        await users.create_user(
            admin,
            email=address,
            first_name="A",
            last_name="B",
            role=Role.BASIC,
            language=Language.EN,
            password=None,
        )
    await db.rollback()
    with pytest.raises(InvalidInput) as caught:
        await users.create_user(
            admin,
            email=unique_email(),
            first_name="A",
            last_name="B",
            role=Role.BASIC,
            language=Language.EN,
            password="short",
        )
    await db.rollback()
    assert caught.value.extensions["field"] == "password"
    basic = await viewer_of(db, settings, await make_user())
    with pytest.raises(Forbidden):
        await users.create_user(
            basic,
            email=unique_email(),
            first_name="A",
            last_name="B",
            role=Role.ADMIN,
            language=Language.EN,
            password=None,
        )


# --- pictures --------------------------------------------------------------------------------


def picture(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None).save(out, format=fmt, **save)
    return out.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc"  # Make
    exif[0x0110] = "Model X-Ray"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 24.0)
    gps[3], gps[4] = "E", (2.0, 21.0, 3.0)
    return exif


XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.4N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


async def stored_picture(db: AsyncSession, user_id: uuid.UUID) -> UserPicture:
    db.expire_all()
    return await db.get_one(UserPicture, user_id)


@pytest.mark.parametrize(
    ("fmt", "content_type", "mode"),
    [
        ("PNG", "image/png", "RGB"),
        ("PNG", "image/png", "RGBA"),
        ("PNG", "image/png", "P"),
        ("JPEG", "image/jpeg", "RGB"),
        ("JPEG", "image/jpeg", "CMYK"),
        ("WEBP", "image/webp", "RGB"),
    ],
)
async def test_real_pictures_are_accepted_and_reencoded(
    db: AsyncSession,
    settings: Settings,
    make_user: Any,
    fmt: str,
    content_type: str,
    mode: str,
) -> None:
    person = await make_user()
    original = picture(fmt, (1200, 800), mode)
    user = await Users(db).set_picture(
        await viewer_of(db, settings, person), None, original, 2 * MB
    )
    sha = user.picture_sha256

    stored = await stored_picture(db, person.id)
    assert stored.content_type == content_type
    assert stored.data != original  # decoded and written again
    assert sha == hashlib.sha256(stored.data).hexdigest()
    with Image.open(io.BytesIO(stored.data)) as image:
        assert image.format == fmt
        assert max(image.size) <= 512  # shrunk to what an avatar needs
        assert image.size == (512, 341)  # keeping the aspect ratio
    assert [e.actor_user_id for e in await audit_of(db, person.id, "user.set_picture")] == [
        person.id
    ]


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG"])
async def test_exif_and_xmp_with_gps_are_stripped(
    db: AsyncSession, settings: Settings, make_user: Any, fmt: str
) -> None:
    person = await make_user()
    original = picture(fmt, exif=gps_exif(), xmp=XMP)
    with Image.open(io.BytesIO(original)) as check:  # the upload really carries the position
        assert check.getexif().get_ifd(0x8825)[2] == (48.0, 51.0, 24.0)
    assert b"SpyCam" in original

    await Users(db).set_picture(await viewer_of(db, settings, person), None, original, 2 * MB)

    data = (await stored_picture(db, person.id)).data
    for marker in (b"SpyCam", b"Model X-Ray", b"GPSLatitude", b"Exif\x00\x00", b"xmpmeta"):
        assert marker not in data
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        assert dict(exif) == {}
        assert dict(exif.get_ifd(0x8825)) == {}
        assert "exif" not in image.info and "xmp" not in image.info


async def test_phone_camera_jpeg_with_multi_picture_segment_is_accepted(
    db: AsyncSession, settings: Settings, make_user: Any
) -> None:
    person = await make_user()
    first, depth_map = Image.new("RGB", (64, 48), (1, 2, 3)), Image.new("RGB", (64, 48))
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[depth_map])
    assert out.getvalue()[:3] == b"\xff\xd8\xff"  # a JPEG file, as far as any browser knows
    await Users(db).set_picture(await viewer_of(db, settings, person), None, out.getvalue(), MB)
    assert (await stored_picture(db, person.id)).content_type == "image/jpeg"


@pytest.mark.parametrize(
    "data",
    [
        b"This is a text file, renamed to avatar.png\n",
        b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10,  # the signature alone is not enough
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"",
        picture("GIF"),
        picture("BMP"),
        picture("TIFF"),
    ],
    ids=["text", "fake-png", "svg", "empty", "gif", "bmp", "tiff"],
)
async def test_non_pictures_are_rejected(
    db: AsyncSession, settings: Settings, make_user: Any, data: bytes
) -> None:
    person = await make_user()
    with pytest.raises(InvalidInput) as caught:
        await Users(db).set_picture(await viewer_of(db, settings, person), None, data, 2 * MB)
    await db.rollback()
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "field": "file"}
    assert await db.scalar(select(func.count()).select_from(UserPicture)) == 0
    db.expire_all()
    assert (await db.get_one(User, person.id)).picture_sha256 is None


async def test_too_large_pictures_are_rejected(
    db: AsyncSession, settings: Settings, make_user: Any
) -> None:
    person = await make_user()
    viewer = await viewer_of(db, settings, person)
    data = picture("PNG", (256, 256))
    with pytest.raises(InvalidInput) as caught:
        await Users(db).set_picture(viewer, None, data, len(data) - 1)
    await db.rollback()
    assert caught.value.extensions["field"] == "file"
    # Exactly at the limit is fine.
    await Users(db).set_picture(viewer, None, data, len(data))

    # Few bytes, too many pixels (a decompression bomb) is refused before decoding.
    bomb = picture("PNG", (5000, 4000), mode="L")
    assert len(bomb) < MB
    with pytest.raises(InvalidInput) as caught:
        await Users(db).set_picture(viewer, None, bomb, 2 * MB)
    await db.rollback()
    assert "pixels" in caught.value.message


async def test_picture_replace_remove_and_rights(
    db: AsyncSession, settings: Settings, make_user: Any
) -> None:
    person = await make_user()
    owner = await viewer_of(db, settings, person)
    users = Users(db)
    await users.set_picture(owner, None, picture("PNG"), MB)
    second = await users.set_picture(owner, None, picture("JPEG"), MB)
    assert second.picture_sha256 is not None
    assert await db.scalar(select(func.count()).select_from(UserPicture)) == 1
    assert (await stored_picture(db, person.id)).content_type == "image/jpeg"

    stranger = await viewer_of(db, settings, await make_user())
    with pytest.raises(Forbidden):
        await users.set_picture(stranger, person.id, picture("PNG"), MB)
    with pytest.raises(Forbidden):
        await users.remove_picture(stranger, person.id)
    await db.rollback()

    admin = await viewer_of(db, settings, await make_user(Role.ADMIN))
    removed = await users.remove_picture(admin, person.id)
    assert removed.picture_sha256 is None
    assert await users.picture(person.id) is None
