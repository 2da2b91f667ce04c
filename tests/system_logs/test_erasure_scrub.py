"""Erasure reaches the system logs: a person's values that slipped into a row's message or
details (a station's error text quoting a badge, a name) are replaced by the pseudonym, and a
search of the whole database finds none of them afterwards."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.models import LogCategory, LogLevel
from backend.domain import system_logs
from backend.domain.mailer import Mailer
from backend.domain.privacy.erasure import Erasure, erased_pseudonym
from backend.settings import Settings
from tests.privacy.helpers import CARDS, PROFILE, build_everything
from tests.privacy.test_erasure import RecordingGateway, search_everywhere
from tests.system_logs.helpers import rows


async def test_erasure_scrubs_the_system_logs(
    engine: AsyncEngine, sessionmaker: Any, settings: Settings, make_user: Any
) -> None:
    everything = await build_everything(sessionmaker, make_user)
    badge = CARDS[0][0]
    name = f"{PROFILE['first_name']} {PROFILE['last_name']}"
    async with sessionmaker() as db:
        # What a station may write in free text: neither key is a secret's, so both stay.
        system_logs.record(
            db,
            LogLevel.WARNING,
            LogCategory.OCPP,
            "ocpp.callerror_received",
            f"Station says: badge {badge} refused",
            station_id=everything.station_id,
            details={"description": f"{name} ({badge}) is not allowed", "code": "Other"},
        )
        system_logs.record(
            db,
            LogLevel.INFO,
            LogCategory.SECURITY,
            "security.login_failed",
            "Login failed: wrong password.",
            user_id=everything.person.id,
        )
        await db.commit()
    assert any(badge in hit for hit in await search_everywhere(engine, [badge], b"\x00\xff"))

    erasure = Erasure(sessionmaker, settings, Mailer(settings), RecordingGateway())
    assert await erasure.erase(everything.person.id, actor_id=None, reason="request")

    assert await search_everywhere(engine, everything.personal_values, everything.picture) == []
    pseudonym = erased_pseudonym(settings.resolved_secret_key(), everything.person.id)
    [scrubbed] = await rows(sessionmaker, event="ocpp.callerror_received")
    assert scrubbed.message == f"Station says: badge {pseudonym} refused"
    assert scrubbed.details == {
        "description": f"{pseudonym} ({pseudonym}) is not allowed",
        "code": "Other",
    }
    # Rows about the person keep pointing to the (now pseudonymous) account.
    [failed] = await rows(sessionmaker, event="security.login_failed")
    assert failed.user_id == everything.person.id
