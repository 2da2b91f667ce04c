"""Data rights in the API: a person's restrictions, objections, erasure state, consent history
and download links (`User.privacy`, `userPrivacy`), erasure requests and results."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import strawberry
from strawberry.scalars import JSON

from backend.db import models
from backend.domain.privacy import consent_history
from backend.domain.privacy.export import export_for
from backend.graphql.context import Context

# The ORM's enum is the API's: `models.Purpose` is `ProcessingPurpose` in the schema.
strawberry.enum(
    models.Purpose,
    name="ProcessingPurpose",
    description="A processing of personal data a person may object to.",
)


@strawberry.type
class ConsentEvent:
    policy_version: str
    given_at: datetime
    withdrawn_at: datetime | None
    standing: bool = strawberry.field(description="Given and not withdrawn.")


@strawberry.type
class ExportUrls:
    personal_data: str = strawberry.field(
        description="Everything personal held about the person, as one JSON file."
    )
    sessions_csv: str = strawberry.field(
        description="Their charging sessions as CSV; add from, to (ISO 8601 with offset, on the "
        "start time) and siteId to choose a part."
    )


def export_urls(viewer_id: uuid.UUID | None, user_id: uuid.UUID) -> ExportUrls:
    query = "" if viewer_id == user_id else "?" + urlencode({"userId": str(user_id)})
    return ExportUrls(
        personal_data=f"/export/my-data.json{query}", sessions_csv=f"/export/my-sessions.csv{query}"
    )


@strawberry.type(
    name="Privacy",
    description="A person's data rights: what they restricted or objected to, whether they "
    "asked for erasure, their consents, and where to download their data.",
)
class Privacy:
    @strawberry.field
    def user_id(self, root: strawberry.Parent[models.User]) -> strawberry.ID:
        return strawberry.ID(str(root.id))

    @strawberry.field(
        description="Their sessions stay out of analytics, data-science exports and demand "
        "prediction."
    )
    def exclude_from_analytics(self, root: strawberry.Parent[models.User]) -> bool:
        return root.exclude_from_analytics

    @strawberry.field(
        description="Mails beyond account, security, invoices and data rights (session "
        "summaries, end of charge, idle car)."
    )
    def nonessential_notifications(self, root: strawberry.Parent[models.User]) -> bool:
        return root.nonessential_notifications

    @strawberry.field
    def objections(self, root: strawberry.Parent[models.User]) -> list[models.Purpose]:
        return [models.Purpose(code) for code in root.objections or []]

    @strawberry.field(description="When the person asked for erasure (waiting for confirmation).")
    def erasure_requested_at(self, root: strawberry.Parent[models.User]) -> datetime | None:
        return root.erasure_requested_at

    @strawberry.field(description="When the person was warned of erasure for inactivity.")
    def erasure_warning_sent_at(self, root: strawberry.Parent[models.User]) -> datetime | None:
        return root.erasure_warning_sent_at

    @strawberry.field(
        description="After how many days without a login or a charge an account is erased "
        "(ERASURE_INACTIVE_DAYS)."
    )
    def inactivity_erasure_days(self, info: strawberry.Info[Context]) -> int:
        return info.context.settings.erasure_inactive_days

    @strawberry.field(description="Every consent given, oldest first.")
    async def consent_history(
        self, root: strawberry.Parent[models.User], info: strawberry.Info[Context]
    ) -> list[ConsentEvent]:
        async with info.context.session() as session:
            events = await consent_history.history(session, root.id)
        return [
            ConsentEvent(
                policy_version=e.policy_version,
                given_at=e.given_at,
                withdrawn_at=e.withdrawn_at,
                standing=e.standing,
            )
            for e in events
        ]

    @strawberry.field
    def export_urls(
        self, root: strawberry.Parent[models.User], info: strawberry.Info[Context]
    ) -> ExportUrls:
        return export_urls(info.context.viewer.user_id, root.id)

    @strawberry.field(
        graphql_type=JSON,
        description="Everything personal held about the person, as the JSON document of "
        "`exportUrls.personalData` (the person themself, administrators and the data "
        "protection officer; each read is audited).",
    )
    async def personal_data(
        self, root: strawberry.Parent[models.User], info: strawberry.Info[Context]
    ) -> dict[str, Any]:
        async with info.context.session() as session:
            return await export_for(session, info.context.viewer, root.id)


@strawberry.type(description="A person's request to be erased, waiting for confirmation.")
class ErasureRequest:
    user_id: strawberry.ID
    first_name: str
    last_name: str
    email: str
    requested_at: datetime
    blocked_reason: str | None = strawberry.field(
        description="Why confirming would fail now (a running session, billing in progress…)."
    )


@strawberry.type(description="What an erasure did.")
class ErasureResult:
    user_id: strawberry.ID
    pseudonym: str = strawberry.field(description="The name the person's records now carry.")
    sessions_kept: int = strawberry.field(description="Charging sessions kept, pseudonymized.")
    invoices_kept: int = strawberry.field(description="Invoices kept, pseudonymized.")
    provider_customer: str = strawberry.field(
        description='The payment provider\'s customer: "deleted", "none", or "kept" (to be '
        "deleted by hand at the provider)."
    )
