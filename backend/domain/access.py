"""Who may read or change what: the object-level rules, and the same rules as SQL filters.

The GraphQL policy table (`backend.graphql.policy`) maps every field onto one of the rules here;
domain services call them before changing anything. A rule answers ALLOW, DENY, or ANONYMIZE
(demo users see every other person's personal data replaced by a stable pseudonym).
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true

from backend.db.models import (
    ChargingSession,
    ChargingStation,
    Invoice,
    InvoiceLine,
    RfidCard,
    Site,
    SiteArea,
    SiteMember,
    User,
    Vehicle,
)
from backend.domain.errors import Forbidden, Unauthenticated
from backend.domain.viewer import Viewer


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    ANONYMIZE = "anonymize"


ALLOW, DENY, ANONYMIZE = Decision.ALLOW, Decision.DENY, Decision.ANONYMIZE


def _allow_if(condition: bool) -> Decision:
    return ALLOW if condition else DENY


def _owner_id(obj: Any) -> Any:
    return obj.id if isinstance(obj, User) else getattr(obj, "user_id", None)


# --- rules on persons -------------------------------------------------------------------------


def person_personal(viewer: Viewer, obj: Any) -> Decision:
    """Personal data of a person (or of their card or vehicle): themself and admins."""
    owner = _owner_id(obj)
    if viewer.user_id is not None and owner == viewer.user_id:
        return ALLOW
    if viewer.is_admin:
        return ALLOW
    if viewer.is_demo:
        return ANONYMIZE
    return DENY


def person_contact(viewer: Viewer, obj: Any) -> Decision:
    """Name and email: also the managers of a site the person is assigned to."""
    decision = person_personal(viewer, obj)
    if decision is DENY and _owner_id(obj) in viewer.managed_user_ids:
        return ALLOW
    return decision


def person_account(viewer: Viewer, obj: Any) -> Decision:
    """Non-personal account facts (role, status, dates): who may see the person at all."""
    owner = _owner_id(obj)
    return _allow_if(
        viewer.reads_everything
        or (viewer.user_id is not None and owner == viewer.user_id)
        or owner in viewer.managed_user_ids
    )


def own_records(viewer: Viewer, obj: Any) -> Decision:
    """A person's cards and vehicles as records (not their identifying numbers)."""
    owner = _owner_id(obj)
    return _allow_if(viewer.reads_everything or (viewer.authenticated and owner == viewer.user_id))


def person_privacy(viewer: Viewer, obj: Any) -> Decision:
    """A person's data-rights state (restrictions, objections, erasure, consents): themself,
    admins and the data protection officer; demo users see none of it."""
    decision = person_personal(viewer, obj)
    if decision is DENY and viewer.handles_data_rights:
        return ALLOW
    return decision


def data_rights_officer(viewer: Viewer, obj: Any) -> Decision:
    """Handling anyone's data rights (erasure requests, any person's export): admins and the
    data protection officer."""
    return _allow_if(viewer.handles_data_rights)


# --- rules on infrastructure ------------------------------------------------------------------


def _site_id(obj: Any) -> Any:
    if isinstance(obj, Site):
        return obj.id
    return getattr(obj, "site_id", None)


def site_read(viewer: Viewer, obj: Any) -> Decision:
    """Sites, their areas and stations' availability: members of the site."""
    return _allow_if(viewer.reads_everything or viewer.member_of(_site_id(obj)))


def site_manage_read(viewer: Viewer, obj: Any) -> Decision:
    """Operational details (members, firmware, registration): the site's managers."""
    return _allow_if(viewer.reads_everything or viewer.manages(_site_id(obj)))


def membership_read(viewer: Viewer, obj: Any) -> Decision:
    own = viewer.user_id is not None and getattr(obj, "user_id", None) == viewer.user_id
    return _allow_if(own or viewer.reads_everything or viewer.manages(_site_id(obj)))


# --- rules on charging sessions ---------------------------------------------------------------


def session_read(viewer: Viewer, obj: Any) -> Decision:
    """A session's facts (station, times, energy): its driver, the managers of its site, admins
    and demo users. `obj.site_id` is the station's site (see `visible_sessions`)."""
    own = viewer.user_id is not None and getattr(obj, "user_id", None) == viewer.user_id
    return _allow_if(own or viewer.reads_everything or viewer.manages(_site_id(obj)))


def session_driver(viewer: Viewer, obj: Any) -> Decision:
    """Who charged: the driver themself and admins; demo users get the person, whose own fields
    are anonymized by the User rules. Site managers see the session, not who it was."""
    own = viewer.user_id is not None and getattr(obj, "user_id", None) == viewer.user_id
    return _allow_if(own or viewer.reads_everything)


def tariff_read(viewer: Viewer, obj: Any) -> Decision:
    """Tariffs: signed-in users of the site they apply to (the organization's: everyone signed
    in); prices are public for drivers. A tariff frozen into a session is reached through the
    session, whose rules were applied already."""
    if getattr(obj, "frozen_in_session", False):
        return ALLOW
    site_id = getattr(obj, "site_id", None)
    return _allow_if(
        viewer.reads_everything
        or (viewer.authenticated and (site_id is None or viewer.member_of(site_id)))
    )


# --- rules on invoices -------------------------------------------------------------------------


def invoice_read(viewer: Viewer, obj: Any) -> Decision:
    """An invoice: its buyer, admins and demo users, and the managers of a site where one of its
    sessions took place (`obj.site_ids`, filled in by `invoicing.attach_sites`). Who the buyer is
    follows the person rules (`person_personal` on the invoice)."""
    own = viewer.user_id is not None and getattr(obj, "user_id", None) == viewer.user_id
    sites: frozenset[Any] = getattr(obj, "site_ids", frozenset())
    return _allow_if(own or viewer.reads_everything or bool(viewer.managed_site_ids & sites))


def invoice_reader(viewer: Viewer, obj: Any) -> Decision:
    """Who may list everyone's invoices: admins, demo users, site managers (for their sites)."""
    return _allow_if(viewer.reads_everything or bool(viewer.managed_site_ids))


# --- generic rules ----------------------------------------------------------------------------


def public(viewer: Viewer, obj: Any) -> Decision:
    return ALLOW


def authenticated(viewer: Viewer, obj: Any) -> Decision:
    return _allow_if(viewer.authenticated)


def admin_only(viewer: Viewer, obj: Any) -> Decision:
    return _allow_if(viewer.is_admin)


def admin_or_demo(viewer: Viewer, obj: Any) -> Decision:
    return _allow_if(viewer.reads_everything)


def site_manager_or_admin(viewer: Viewer, obj: Any) -> Decision:
    return _allow_if(viewer.is_admin or bool(viewer.managed_site_ids))


def user_reader(viewer: Viewer, obj: Any) -> Decision:
    """Who may look people up: admins, demo users and site managers (for their sites)."""
    return _allow_if(viewer.reads_everything or bool(viewer.managed_site_ids))


# --- checks for domain services (raise) -------------------------------------------------------


def require_login(viewer: Viewer) -> None:
    if not viewer.authenticated:
        raise Unauthenticated()


def require_admin(viewer: Viewer) -> None:
    require_login(viewer)
    if not viewer.is_admin:
        raise Forbidden("Only administrators may do this.")


def require_self_or_admin(viewer: Viewer, user_id: Any) -> None:
    require_login(viewer)
    if not (viewer.is_admin or viewer.user_id == user_id):
        raise Forbidden("You may only change your own data.")


def require_data_rights_officer(viewer: Viewer) -> None:
    require_login(viewer)
    if not viewer.handles_data_rights:
        raise Forbidden("Only administrators and the data protection officer may do this.")


def require_self_or_data_rights_officer(viewer: Viewer, user_id: Any) -> None:
    require_login(viewer)
    if not (viewer.handles_data_rights or viewer.user_id == user_id):
        raise Forbidden("You may only see or change your own data.")


def require_site_manager(viewer: Viewer, site_id: Any) -> None:
    require_login(viewer)
    if not (viewer.is_admin or viewer.manages(site_id)):
        raise Forbidden("Only administrators of this site may do this.")


# --- the same rules as SQL filters, so lists never load what the viewer may not see -----------


def visible_sites(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.reads_everything:
        return true()
    return Site.id.in_(viewer.member_site_ids) if viewer.member_site_ids else false()


def visible_site_areas(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.reads_everything:
        return true()
    return SiteArea.site_id.in_(viewer.member_site_ids) if viewer.member_site_ids else false()


def visible_stations(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.reads_everything:
        return true()
    if not viewer.member_site_ids:
        return false()
    return ChargingStation.site_id.in_(viewer.member_site_ids)


def visible_users(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.reads_everything:
        return true()
    if viewer.managed_site_ids:
        managed = select(SiteMember.user_id).where(SiteMember.site_id.in_(viewer.managed_site_ids))
        return User.id.in_(managed) | (User.id == viewer.user_id)
    return User.id == viewer.user_id if viewer.user_id else false()


def visible_sessions(viewer: Viewer) -> ColumnElement[bool]:
    """Sessions: everything for admins and demo users, else one's own and those at the stations
    of the sites one manages (a plain member sees only their own)."""
    if viewer.reads_everything:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if viewer.user_id is not None:
        clauses.append(ChargingSession.user_id == viewer.user_id)
    if viewer.managed_site_ids:
        managed = select(ChargingStation.id).where(
            ChargingStation.site_id.in_(viewer.managed_site_ids)
        )
        clauses.append(ChargingSession.station_id.in_(managed))
    if not clauses:
        return false()
    return or_(*clauses)


def visible_invoices(viewer: Viewer) -> ColumnElement[bool]:
    """Invoices: everything for admins and demo users, else one's own and those with a line
    at a site one manages."""
    if viewer.reads_everything:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if viewer.user_id is not None:
        clauses.append(Invoice.user_id == viewer.user_id)
    if viewer.managed_site_ids:
        managed = select(InvoiceLine.invoice_id).where(
            InvoiceLine.site_id.in_(viewer.managed_site_ids)
        )
        clauses.append(Invoice.id.in_(managed))
    if not clauses:
        return false()
    return or_(*clauses)


def visible_cards(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.reads_everything:
        return true()
    return RfidCard.user_id == viewer.user_id if viewer.user_id else false()


def visible_vehicles(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.reads_everything:
        return true()
    return Vehicle.user_id == viewer.user_id if viewer.user_id else false()
