"""A site's members over GraphQL: its managers add people by their exact email address, change
their role and remove them; an unknown address is NOT_FOUND whatever the reason, and nothing
lets a manager list or probe other accounts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from backend.db.base import utcnow
from backend.db.models import AuditEntry, Role, Site, SiteMember, SiteRole, User
from backend.domain.sites import MEMBER_EMAIL_MISSES
from tests.conftest import Api, unique_email

ADD = """
mutation($site: ID!, $email: String!, $role: SiteRole!) {
  addSiteMemberByEmail(siteId: $site, email: $email, role: $role) { role site { id } }
}
"""
SET = """
mutation($site: ID!, $user: ID!, $role: SiteRole!) {
  setSiteMember(siteId: $site, userId: $user, role: $role) { role }
}
"""
REMOVE = "mutation($site: ID!, $user: ID!) { removeSiteMember(siteId: $site, userId: $user) }"
MEMBERS = """
query($id: ID!) {
  site(id: $id) {
    members(first: 50) { totalCount edges { node { role user { id email firstName lastName } } } }
  }
}
"""


async def _site(sessionmaker: Any, name: str = "Depot") -> uuid.UUID:
    async with sessionmaker() as session:
        site = Site(name=name)
        session.add(site)
        await session.commit()
        return site.id


async def _members(api: Api, site_id: uuid.UUID, token: str) -> dict[str, tuple[str, str]]:
    """user id → (role, email)"""
    data = await api.ok(MEMBERS, {"id": str(site_id)}, token=token)
    edges = data["site"]["members"]["edges"]
    return {e["node"]["user"]["id"]: (e["node"]["role"], e["node"]["user"]["email"]) for e in edges}


async def test_an_admin_adds_a_driver_by_email_changes_the_role_and_removes_them(
    api: Api, sessionmaker: Any, make_user: Any
) -> None:
    site_id = await _site(sessionmaker)
    admin = await make_user(Role.ADMIN)
    driver = await make_user(email=unique_email("driver"), first_name="Ada", last_name="Byron")
    # The address is matched as typed at sign-up, whatever its case and surrounding spaces.
    typed = f"  {driver.email.upper()} "
    data = await api.ok(
        ADD, {"site": str(site_id), "email": typed, "role": "MEMBER"}, token=admin.token
    )
    assert data["addSiteMemberByEmail"] == {"role": "MEMBER", "site": {"id": str(site_id)}}
    assert await _members(api, site_id, admin.token) == {str(driver.id): ("MEMBER", driver.email)}

    # Adding the same person again changes their role rather than adding a second row.
    data = await api.ok(
        ADD, {"site": str(site_id), "email": driver.email, "role": "SITE_ADMIN"}, token=admin.token
    )
    assert data["addSiteMemberByEmail"]["role"] == "SITE_ADMIN"
    await api.ok(
        SET, {"site": str(site_id), "user": str(driver.id), "role": "SITE_OWNER"}, token=admin.token
    )
    assert await _members(api, site_id, admin.token) == {
        str(driver.id): ("SITE_OWNER", driver.email)
    }

    assert await api.ok(
        REMOVE, {"site": str(site_id), "user": str(driver.id)}, token=admin.token
    ) == {"removeSiteMember": True}
    assert await _members(api, site_id, admin.token) == {}
    # Removing someone who is no longer there is not an error, just nothing done.
    assert await api.ok(
        REMOVE, {"site": str(site_id), "user": str(driver.id)}, token=admin.token
    ) == {"removeSiteMember": False}

    async with sessionmaker() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.actor_user_id == admin.id)
            )
        )
    assert actions.count("site.set_member") == 3
    assert actions.count("site.remove_member") == 1


async def test_a_site_admin_adds_members_but_only_owners_grant_rights(
    api: Api, sessionmaker: Any, make_user: Any
) -> None:
    site_id = await _site(sessionmaker)
    site = str(site_id)
    owner = await make_user(sites={site_id: SiteRole.SITE_OWNER})
    site_admin = await make_user(sites={site_id: SiteRole.SITE_ADMIN})
    driver = await make_user()
    colleague = await make_user()

    data = await api.ok(
        ADD, {"site": site, "email": driver.email, "role": "MEMBER"}, token=site_admin.token
    )
    assert data["addSiteMemberByEmail"]["role"] == "MEMBER"
    # Once assigned, the driver's name and email are visible to the site's managers.
    members = await _members(api, site_id, site_admin.token)
    assert members[str(driver.id)] == ("MEMBER", driver.email)

    # A site admin hands out no rights, whether the address is known or not (so the refusal
    # says nothing about the address either).
    for email in (colleague.email, unique_email("nobody")):
        error = await api.error(
            ADD, {"site": site, "email": email, "role": "SITE_ADMIN"}, token=site_admin.token
        )
        assert error["code"] == "FORBIDDEN"
        assert error["message"] == "Only administrators and site owners grant site rights."
    error = await api.error(
        SET, {"site": site, "user": str(driver.id), "role": "SITE_ADMIN"}, token=site_admin.token
    )
    assert error["code"] == "FORBIDDEN"
    # …nor takes them away from the site's owner.
    error = await api.error(
        SET, {"site": site, "user": str(owner.id), "role": "MEMBER"}, token=site_admin.token
    )
    assert (error["code"], error["message"]) == (
        "FORBIDDEN",
        "Only administrators and site owners change site rights.",
    )
    error = await api.error(REMOVE, {"site": site, "user": str(owner.id)}, token=site_admin.token)
    assert (error["code"], error["message"]) == (
        "FORBIDDEN",
        "Only administrators and site owners remove site rights.",
    )

    # The owner may: the colleague becomes a site admin, then the driver is removed by the
    # site admin (plain members are theirs to manage).
    data = await api.ok(
        ADD, {"site": site, "email": colleague.email, "role": "SITE_ADMIN"}, token=owner.token
    )
    assert data["addSiteMemberByEmail"]["role"] == "SITE_ADMIN"
    assert await api.ok(REMOVE, {"site": site, "user": str(driver.id)}, token=site_admin.token)
    members = await _members(api, site_id, owner.token)
    assert {k: v[0] for k, v in members.items()} == {
        str(owner.id): "SITE_OWNER",
        str(site_admin.id): "SITE_ADMIN",
        str(colleague.id): "SITE_ADMIN",
    }


async def test_a_plain_member_of_the_site_cannot_manage_its_members(
    api: Api, sessionmaker: Any, make_user: Any
) -> None:
    site_id = await _site(sessionmaker)
    other_site = await _site(sessionmaker, "Elsewhere")
    site = str(site_id)
    driver = await make_user(sites={site_id: SiteRole.MEMBER})
    fellow = await make_user(sites={site_id: SiteRole.MEMBER})
    stranger = await make_user()
    # A manager of another site has no say here either.
    elsewhere = await make_user(sites={other_site: SiteRole.SITE_OWNER})

    for person in (driver, elsewhere):
        for query, variables in (
            (ADD, {"site": site, "email": stranger.email, "role": "MEMBER"}),
            (SET, {"site": site, "user": str(stranger.id), "role": "MEMBER"}),
            (REMOVE, {"site": site, "user": str(fellow.id)}),
        ):
            error = await api.error(query, variables, token=person.token)
            assert error["code"] == "FORBIDDEN", (query, error)
    # The member sees the site, not who else belongs to it.
    error = await api.error(MEMBERS, {"id": site}, token=driver.token)
    assert error["code"] == "FORBIDDEN"
    async with sessionmaker() as session:
        rows = (await session.execute(select(SiteMember.user_id, SiteMember.role))).all()
    assert {(row[0], row[1]) for row in rows} == {
        (driver.id, SiteRole.MEMBER),
        (fellow.id, SiteRole.MEMBER),
        (elsewhere.id, SiteRole.SITE_OWNER),
    }
    # Without an account session, nothing at all.
    error = await api.error(ADD, {"site": site, "email": stranger.email, "role": "MEMBER"})
    assert error["code"] == "UNAUTHENTICATED"


async def test_an_unknown_address_is_not_found_and_tells_nothing_more(
    api: Api, sessionmaker: Any, make_user: Any
) -> None:
    site_id = await _site(sessionmaker)
    site = str(site_id)
    admin = await make_user(Role.ADMIN)
    manager = await make_user(sites={site_id: SiteRole.SITE_ADMIN})
    known = await make_user(email=unique_email("known"))
    erased = await make_user(email=unique_email("erased"))
    async with sessionmaker() as session:
        user = await session.get_one(User, erased.id)
        user.erased_at = utcnow()
        await session.commit()

    unknown = unique_email("nobody")
    local, domain = known.email.split("@")
    # A part of a known address (or one with a wildcard) finds no one: only exact addresses do.
    for email in (unknown, erased.email, f"{local[:-1]}@{domain}", f"{local[:-1]}%@{domain}"):
        for person in (admin, manager):
            error = await api.error(
                ADD, {"site": site, "email": email, "role": "MEMBER"}, token=person.token
            )
            assert error == {
                "message": "No account with this email address.",
                "code": "NOT_FOUND",
                "field": "email",
            }, email
    error = await api.error(
        ADD, {"site": site, "email": "not an address", "role": "MEMBER"}, token=manager.token
    )
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "email")
    error = await api.error(
        ADD,
        {"site": str(uuid.uuid4()), "email": known.email, "role": "MEMBER"},
        token=admin.token,
    )
    assert (error["code"], error["message"]) == ("NOT_FOUND", "No such site.")
    async with sessionmaker() as session:
        members = list(await session.scalars(select(SiteMember.user_id)))
    assert members == [manager.id]


async def test_a_manager_trying_many_addresses_is_stopped(
    api: Api, sessionmaker: Any, make_user: Any
) -> None:
    site_id = await _site(sessionmaker)
    site = str(site_id)
    manager = await make_user(sites={site_id: SiteRole.SITE_ADMIN})
    known = await make_user()
    for _ in range(MEMBER_EMAIL_MISSES.attempts):
        guess = {"site": site, "email": unique_email("guess"), "role": "MEMBER"}
        error = await api.error(ADD, guess, token=manager.token)
        assert error["code"] == "NOT_FOUND"
    # From then on even an existing address gets no answer, so guessing cannot go on.
    error = await api.error(
        ADD, {"site": site, "email": known.email, "role": "MEMBER"}, token=manager.token
    )
    assert error["code"] == "TOO_MANY_ATTEMPTS"
    assert error["retryAfterSeconds"] > 0
    # Misses are counted per manager: another manager of the site is not held back.
    other = await make_user(sites={site_id: SiteRole.SITE_OWNER})
    data = await api.ok(
        ADD, {"site": site, "email": known.email, "role": "MEMBER"}, token=other.token
    )
    assert data["addSiteMemberByEmail"]["role"] == "MEMBER"
