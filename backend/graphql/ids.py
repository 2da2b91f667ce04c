"""IDs in the API are UUIDs; a malformed one is the caller's mistake, said clearly."""

from __future__ import annotations

import uuid

from backend.domain.errors import InvalidInput


def parse_id(value: str, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise InvalidInput("This is not a valid ID.", field=field) from exc


def parse_optional_id(value: str | None, field: str) -> uuid.UUID | None:
    return None if value is None else parse_id(value, field)
