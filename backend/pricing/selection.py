"""Which tariff applies to a session: a pure choice among candidate tariffs.

Tariffs attach to the organization, a site, a site area or a station. Among the candidates
attached to where the session takes place and valid at the session's start, the most specific
attachment wins (station > site area > site > organization). Areas nest, and a tariff on an
area applies to the areas inside it: the station's own area is the most specific, then the
areas around it from the nearest to the farthest. Among equally specific ones, the newest
wins: the one whose validity started last (a tariff without a start date counts as the
oldest), then the one created last. The chosen tariff is frozen into the session when it
starts, so later edits never reprice a running session.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

T = TypeVar("T")
_EPOCH = datetime.min.replace(tzinfo=UTC)


class Scope(enum.IntEnum):
    """What a tariff is attached to; a higher value is more specific."""

    ORGANIZATION = 0
    SITE = 1
    SITE_AREA = 2
    STATION = 3


@dataclass(frozen=True)
class Location:
    """Where a session takes place."""

    site_id: Hashable
    site_area_id: Hashable | None
    station_id: Hashable
    enclosing_area_ids: tuple[Hashable, ...] = ()
    """The areas around `site_area_id`, nearest first: its parent, the parent's parent..."""

    def __post_init__(self) -> None:
        if self.enclosing_area_ids and self.site_area_id is None:
            raise ValueError("enclosing areas without a site area")

    @property
    def area_ids(self) -> tuple[Hashable, ...]:
        """The station's area, then those around it, nearest first."""
        if self.site_area_id is None:
            return ()
        return (self.site_area_id, *self.enclosing_area_ids)


@dataclass(frozen=True)
class TariffCandidate(Generic[T]):
    """A tariff (`ref`: an id or the tariff itself) with its attachment and validity."""

    ref: T
    scope: Scope
    target_id: Hashable | None
    """The site, site area or station id; None for the organization."""
    created_at: datetime
    valid_from: datetime | None = None
    """Inclusive; None: since always."""
    valid_until: datetime | None = None
    """Exclusive; None: until further notice. Retiring a tariff sets it."""

    def __post_init__(self) -> None:
        for name in ("created_at", "valid_from", "valid_until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise TypeError(f"{name} must be timezone-aware")
        if (
            self.valid_from is not None
            and self.valid_until is not None
            and self.valid_until <= self.valid_from
        ):
            raise ValueError("valid_until must be after valid_from")
        if (self.scope is Scope.ORGANIZATION) != (self.target_id is None):
            raise ValueError("only an organization tariff has no target")

    def distance(self, location: Location) -> int | None:
        """How many levels of nesting separate the station's own area from the area this
        candidate is attached to (0 for the other scopes); None: not attached there."""
        if self.scope is Scope.ORGANIZATION:
            return 0
        if self.scope is Scope.SITE_AREA:
            areas = location.area_ids
            return areas.index(self.target_id) if self.target_id in areas else None
        target = location.site_id if self.scope is Scope.SITE else location.station_id
        return 0 if target is not None and target == self.target_id else None

    def attached_to(self, location: Location) -> bool:
        return self.distance(location) is not None

    def valid_at(self, at: datetime) -> bool:
        if self.valid_from is not None and at < self.valid_from:
            return False
        return self.valid_until is None or at < self.valid_until


def select_tariff(
    candidates: Iterable[TariffCandidate[T]], location: Location, at: datetime
) -> TariffCandidate[T] | None:
    """The candidate that applies at `location` at `at`, or None when no tariff applies."""
    if at.tzinfo is None:
        raise TypeError("at must be timezone-aware")
    eligible = [
        (c, distance)
        for c in candidates
        if c.valid_at(at) and (distance := c.distance(location)) is not None
    ]
    if not eligible:
        return None
    # Within a scope, the nearer attachment (a smaller distance) is the more specific.
    chosen, _ = max(
        eligible,
        key=lambda e: (e[0].scope, -e[1], e[0].valid_from or _EPOCH, e[0].created_at),
    )
    return chosen
