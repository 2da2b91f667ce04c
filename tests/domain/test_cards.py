"""RFID cards: normalized UIDs, one owner per card, owner-or-admin changes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuditEntry, RfidCard, Role, SiteRole
from backend.domain.accounts import Accounts
from backend.domain.cards import Cards, normalize_uid
from backend.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from backend.domain.mailer import Mailer
from backend.domain.viewer import ANONYMOUS, Viewer
from backend.settings import Settings
from tests.conftest import Person


async def viewer_of(db: AsyncSession, settings: Settings, person: Person) -> Viewer:
    viewer = await Accounts(db, settings, Mailer(settings)).viewer_for_token(person.token)
    assert viewer.user_id == person.id
    return viewer


@pytest.mark.parametrize(
    "raw", ["04:a2-3b", "04A23B", " 04 a2 3b ", "04-A2-3B", "04:A2:3B", "04\ta2\n3b"]
)
def test_uid_normalization(raw: str) -> None:
    assert normalize_uid(raw) == "04A23B"


@pytest.mark.parametrize("raw", ["", "  ", ":-:", "0" * 21, "04A2$B", "04.A2", "04/A2"])
def test_invalid_uids_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_uid(raw)
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "field": "uid"}


def test_twenty_characters_are_allowed() -> None:
    assert normalize_uid("ab" * 10) == "AB" * 10


async def test_add_stores_the_normalized_uid(
    db: AsyncSession, settings: Settings, make_user: Any
) -> None:
    person = await make_user()
    card = await Cards(db).add(
        await viewer_of(db, settings, person), "04:a2-3b", "Blue badge", None
    )
    assert (card.uid, card.user_id, card.active, card.description) == (
        "04A23B",
        person.id,
        True,
        "Blue badge",
    )
    db.expire_all()
    stored = await db.scalar(select(RfidCard).where(RfidCard.uid == "04A23B"))
    assert stored is not None and stored.user_id == person.id


async def test_a_card_belongs_to_one_user_only(
    db: AsyncSession, settings: Settings, make_user: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    admin = await viewer_of(db, settings, await make_user(Role.ADMIN))
    cards = Cards(db)
    await cards.add(await viewer_of(db, settings, alice), "04:a2-3b", None, None)

    for viewer, owner in ((await viewer_of(db, settings, bob), None), (admin, bob.id)):
        with pytest.raises(Conflict) as caught:
            await cards.add(viewer, "04A23B", None, owner)
        await db.rollback()
        assert caught.value.extensions == {"code": "CONFLICT", "field": "uid"}
    # Adding the same card again to its own owner is a conflict too.
    with pytest.raises(Conflict):
        await cards.add(await viewer_of(db, settings, alice), "04 a2 3b", None, None)
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(RfidCard)) == 1


async def test_description_is_bounded(db: AsyncSession, settings: Settings, make_user: Any) -> None:
    viewer = await viewer_of(db, settings, await make_user())
    with pytest.raises(InvalidInput) as caught:
        await Cards(db).add(viewer, "CAFE01", "d" * 201, None)
    await db.rollback()
    assert caught.value.extensions["field"] == "description"
    card = await Cards(db).add(viewer, "CAFE01", "", None)
    assert card.description is None


async def test_only_the_owner_and_admins_change_a_card(
    db: AsyncSession, settings: Settings, make_user: Any, sessionmaker: Any
) -> None:
    from backend.db.models import Site

    async with sessionmaker() as session:
        site = Site(name="Depot")
        session.add(site)
        await session.commit()
        site_id = site.id
    owner_person = await make_user(sites={site_id: SiteRole.MEMBER})
    owner = await viewer_of(db, settings, owner_person)
    strangers = [
        await viewer_of(db, settings, await make_user()),
        await viewer_of(db, settings, await make_user(Role.DEMO)),
        # Managing the owner's site gives no right on the owner's badges.
        await viewer_of(db, settings, await make_user(sites={site_id: SiteRole.SITE_OWNER})),
    ]
    admin = await viewer_of(db, settings, await make_user(Role.ADMIN))
    cards = Cards(db)
    card_id = (await cards.add(owner, "DEADBEEF", None, None)).id

    for stranger in strangers:
        for attempt in (
            cards.set_active(stranger, card_id, False),
            cards.delete(stranger, card_id),
        ):
            with pytest.raises(NotFound):  # as if it did not exist: nothing to learn
                await attempt
            await db.rollback()
        with pytest.raises(Forbidden):
            await cards.add(stranger, "C0FFEE", None, owner_person.id)
        await db.rollback()
    with pytest.raises(Unauthenticated):
        await cards.set_active(ANONYMOUS, card_id, False)
    with pytest.raises(NotFound):
        await cards.set_active(admin, uuid.uuid4(), False)
    await db.rollback()
    db.expire_all()
    assert (await db.get_one(RfidCard, card_id)).active is True

    assert (await cards.set_active(owner, card_id, False)).active is False
    assert (await cards.set_active(admin, card_id, True)).active is True
    entries = (
        await db.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "card.set_active", AuditEntry.target_id == str(card_id))
            .order_by(AuditEntry.id)
        )
    ).all()
    assert [e.details for e in entries] == [
        {"fields": ["active"], "active": False},
        {"fields": ["active"], "active": True},
    ]
    assert entries[1].actor_user_id == admin.user_id

    given = await cards.add(admin, "C0FFEE", "for Bob", owner_person.id)
    assert given.user_id == owner_person.id
    with pytest.raises(NotFound) as caught:
        await cards.add(admin, "BADC0DE", None, uuid.uuid4())
    await db.rollback()
    assert caught.value.extensions["field"] == "userId"

    await cards.delete(owner, card_id)
    db.expire_all()
    assert await db.get(RfidCard, card_id) is None
    # A deleted card's number is free again.
    again = await cards.add(admin, "de:ad:be:ef", None, None)
    assert again.user_id == admin.user_id


@pytest.mark.parametrize("uid", ["ÉCOLE1", "12²", "ＡＢ12"])
def test_card_numbers_are_ascii(uid: str) -> None:
    # OCPP idTags are ASCII; a reader never produces these.
    with pytest.raises(InvalidInput):
        normalize_uid(uid)
