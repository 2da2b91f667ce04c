"""Enums and small value types shared by the schema."""

from __future__ import annotations

import enum
from typing import Any

import strawberry

from backend.db import models

# The ORM's enums are the API's enums: registering them keeps one definition of each.
for _enum in (
    models.Role,
    models.UserStatus,
    models.Language,
    models.SiteRole,
    models.RegistrationStatus,
):
    strawberry.enum(_enum)


@strawberry.type
class Address:
    street: str | None
    postal_code: str | None
    city: str | None
    region: str | None
    country: str | None

    @classmethod
    def of(cls, row: Any) -> Address | None:
        values = {
            name: getattr(row, f"address_{name}")
            for name in ("street", "postal_code", "city", "region", "country")
        }
        return cls(**values) if any(values.values()) else None


@strawberry.input
class AddressInput:
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None


@strawberry.type
class PrivacyPolicy:
    version: str
    text: str


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"
