"""RFID cards (badges): many per user, one user per card."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import RfidCard, User
from backend.domain import audit
from backend.domain.access import require_login, require_self_or_admin
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.viewer import Viewer


def normalize_uid(uid: str) -> str:
    """Badges are read as hex by most stations; case and separators vary by reader."""
    value = re.sub(r"[\s:\-]", "", uid).upper()
    if not value:
        raise InvalidInput("The card number is required.", field="uid")
    if len(value) > 20 or not re.fullmatch(r"[0-9A-Z]+", value):
        # 20 characters: the idToken length OCPP 1.6 allows.
        raise InvalidInput(
            "A card number has at most 20 characters among A-Z and 0-9.", field="uid"
        )
    return value


class Cards:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _get(self, viewer: Viewer, card_id: uuid.UUID) -> RfidCard:
        require_login(viewer)
        card = await self.session.get(RfidCard, card_id)
        if card is None or not (viewer.is_admin or card.user_id == viewer.user_id):
            raise NotFound("No such card.")
        return card

    async def add(
        self, viewer: Viewer, uid: str, description: str | None, user_id: uuid.UUID | None
    ) -> RfidCard:
        owner_id = user_id or viewer.user_id
        require_self_or_admin(viewer, owner_id)
        owner = await self.session.get(User, owner_id)
        if owner is None or owner.erased_at is not None:
            raise NotFound("No such user.", field="userId")
        uid = normalize_uid(uid)
        if await self.session.scalar(select(RfidCard.id).where(RfidCard.uid == uid)):
            raise Conflict("This card is already registered.", field="uid")
        if description is not None and len(description) > 200:
            raise InvalidInput("At most 200 characters.", field="description")
        card = RfidCard(uid=uid, user_id=owner_id, description=description or None, active=True)
        self.session.add(card)
        await self.session.flush()
        audit.record(self.session, viewer.user_id, "card.add", card)
        await self.session.commit()
        return card

    async def set_active(self, viewer: Viewer, card_id: uuid.UUID, active: bool) -> RfidCard:
        card = await self._get(viewer, card_id)
        card.active = active
        audit.record(
            self.session, viewer.user_id, "card.set_active", card, fields=["active"], active=active
        )
        await self.session.commit()
        return card

    async def delete(self, viewer: Viewer, card_id: uuid.UUID) -> None:
        card = await self._get(viewer, card_id)
        audit.record(self.session, viewer.user_id, "card.delete", card)
        await self.session.delete(card)
        await self.session.commit()
