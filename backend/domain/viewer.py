"""Who is asking: the authenticated principal a request acts for."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from backend.db.models import Role, SiteRole

_SITE_MANAGER_ROLES = frozenset({SiteRole.SITE_ADMIN, SiteRole.SITE_OWNER})


@dataclass(frozen=True)
class Viewer:
    user_id: uuid.UUID | None = None
    role: Role | None = None
    site_roles: Mapping[uuid.UUID, SiteRole] = field(default_factory=dict)
    session_id: uuid.UUID | None = None
    # For site managers: the people assigned to the sites they manage.
    managed_user_ids: frozenset[uuid.UUID] = frozenset()

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_demo(self) -> bool:
        return self.role is Role.DEMO

    @property
    def is_dpo(self) -> bool:
        return self.role is Role.DPO

    @property
    def handles_data_rights(self) -> bool:
        """Admins and the data protection officer: confirm erasures, read and export any
        person's data (backend.domain.privacy). Otherwise a DPO is a basic user."""
        return self.role in (Role.ADMIN, Role.DPO)

    @property
    def reads_everything(self) -> bool:
        """Admins and demo users see every record (demo users with persons anonymized)."""
        return self.role in (Role.ADMIN, Role.DEMO)

    def member_of(self, site_id: uuid.UUID | None) -> bool:
        return site_id is not None and site_id in self.site_roles

    def manages(self, site_id: uuid.UUID | None) -> bool:
        return site_id is not None and self.site_roles.get(site_id) in _SITE_MANAGER_ROLES

    @property
    def managed_site_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(s for s, r in self.site_roles.items() if r in _SITE_MANAGER_ROLES)

    @property
    def member_site_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(self.site_roles)


ANONYMOUS = Viewer()
