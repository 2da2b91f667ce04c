"""Registration tokens over GraphQL: the managers of a site list the tokens of its areas (newest
first, revoked ones marked) and never see a token's secret again; others see none."""

from __future__ import annotations

import json
from typing import Any

from backend.db.models import Role, Site, SiteArea, SiteRole
from tests.conftest import Api

CREATE = """
mutation($area: ID!, $description: String) {
  createRegistrationToken(siteAreaId: $area, description: $description) {
    token
    registrationToken { id }
  }
}
"""
REVOKE = "mutation($id: ID!) { revokeRegistrationToken(id: $id) }"
LIST = """
query($area: ID!) {
  siteArea(id: $area) {
    name
    registrationTokens { id siteAreaId description createdAt expiresAt revokedAt }
  }
}
"""


async def test_managers_list_an_areas_tokens_without_their_secrets(
    api: Api, sessionmaker: Any, make_user: Any
) -> None:
    async with sessionmaker() as session:
        site = Site(name="Depot")
        session.add(site)
        await session.flush()
        area, other_area = (
            SiteArea(site_id=site.id, name=name, max_power_w=22_000) for name in ("Bay", "Yard")
        )
        session.add_all([area, other_area])
        await session.commit()
    manager = await make_user(sites={site.id: SiteRole.SITE_ADMIN})
    member = await make_user(sites={site.id: SiteRole.MEMBER})
    admin = await make_user(Role.ADMIN)

    made = []
    for description in ("first", "second"):
        data = await api.ok(
            CREATE, {"area": str(area.id), "description": description}, token=manager.token
        )
        made.append(data["createRegistrationToken"])
    await api.ok(CREATE, {"area": str(other_area.id)}, token=manager.token)
    await api.ok(REVOKE, {"id": made[0]["registrationToken"]["id"]}, token=manager.token)

    for viewer in (manager, admin):
        data = await api.ok(LIST, {"area": str(area.id)}, token=viewer.token)
        tokens = data["siteArea"]["registrationTokens"]
        assert [t["description"] for t in tokens] == ["second", "first"]  # this area's only
        assert [t["id"] for t in tokens] == [m["registrationToken"]["id"] for m in made[::-1]]
        assert tokens[0]["revokedAt"] is None and tokens[1]["revokedAt"] is not None
        assert {t["siteAreaId"] for t in tokens} == {str(area.id)}
        text = json.dumps(data)
        assert all(m["token"] not in text for m in made)  # shown once, at creation

    # A driver of the site sees the area, not how stations get into it.
    result = await api(LIST, {"area": str(area.id)}, token=member.token)
    assert result["data"]["siteArea"]["name"] == "Bay"
    assert result["errors"][0]["path"] == ["siteArea", "registrationTokens"]
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
