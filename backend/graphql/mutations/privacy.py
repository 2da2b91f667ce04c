"""Data rights: restriction and objection, erasure requests and confirmation, consent
withdrawal. Each is a thin call into backend.domain.privacy, which checks who may act on whom
(the person themself; admins and the data protection officer for anyone)."""

from __future__ import annotations

import strawberry

from backend.db import models
from backend.domain.privacy import consent_history, preferences
from backend.graphql.context import Context
from backend.graphql.ids import parse_id, parse_optional_id
from backend.graphql.privacy_queries import erasure_service
from backend.graphql.session_cookie import clear_session_cookie
from backend.graphql.types.privacy import ErasureResult, Privacy


@strawberry.input
class PrivacyPreferencesInput:
    exclude_from_analytics: bool | None = None
    nonessential_notifications: bool | None = None
    objections: list[models.Purpose] | None = strawberry.field(
        default=None, description="The whole list of purposes objected to (replaces it)."
    )


@strawberry.type
class PrivacyMutations:
    @strawberry.mutation(
        graphql_type=Privacy,
        description="Restrict processing and object to purposes (fields left out stay as they "
        "are). userId: admins and the data protection officer, for someone else.",
    )
    async def set_privacy_preferences(
        self,
        info: strawberry.Info[Context],
        input: PrivacyPreferencesInput,
        user_id: strawberry.ID | None = None,
    ) -> models.User:
        async with info.context.session() as session:
            return await preferences.set_preferences(
                session,
                info.context.viewer,
                parse_optional_id(user_id, "userId"),
                exclude_from_analytics=input.exclude_from_analytics,
                nonessential_notifications=input.nonessential_notifications,
                objections=(
                    [models.Purpose(p).value for p in input.objections]
                    if input.objections is not None
                    else None
                ),
            )

    @strawberry.mutation(
        graphql_type=Privacy,
        description="Object to one purpose, or withdraw the objection with objected: false.",
    )
    async def object_to(
        self,
        info: strawberry.Info[Context],
        purpose: models.Purpose,
        objected: bool = True,
        user_id: strawberry.ID | None = None,
    ) -> models.User:
        async with info.context.session() as session:
            return await preferences.object_to(
                session,
                info.context.viewer,
                models.Purpose(purpose),
                objected=objected,
                user_id=parse_optional_id(user_id, "userId"),
            )

    @strawberry.mutation(
        graphql_type=Privacy,
        description="Ask to be erased; an admin or the data protection officer confirms. "
        "userId: they record someone's request.",
    )
    async def request_erasure(
        self, info: strawberry.Info[Context], user_id: strawberry.ID | None = None
    ) -> models.User:
        return await erasure_service(info).request(
            info.context.viewer, parse_optional_id(user_id, "userId")
        )

    @strawberry.mutation(graphql_type=Privacy)
    async def cancel_erasure_request(
        self, info: strawberry.Info[Context], user_id: strawberry.ID | None = None
    ) -> models.User:
        return await erasure_service(info).cancel(
            info.context.viewer, parse_optional_id(user_id, "userId")
        )

    @strawberry.mutation(
        description="Erase a person who asked for it, now (admins and the data protection "
        "officer; never one's own account)."
    )
    async def confirm_erasure(
        self, info: strawberry.Info[Context], user_id: strawberry.ID
    ) -> ErasureResult:
        result = await erasure_service(info).confirm(
            info.context.viewer, parse_id(user_id, "userId")
        )
        return ErasureResult(
            user_id=strawberry.ID(str(result.user_id)),
            pseudonym=result.pseudonym,
            sessions_kept=result.sessions,
            invoices_kept=result.invoices,
            provider_customer=result.provider_customer,
        )

    @strawberry.mutation(
        description="Withdraw consent to the privacy policy: the person is logged out "
        "everywhere and cannot log in again without consenting. Returns how many login "
        "sessions ended."
    )
    async def withdraw_consent(
        self, info: strawberry.Info[Context], user_id: strawberry.ID | None = None
    ) -> int:
        viewer = info.context.viewer
        target = parse_optional_id(user_id, "userId")
        async with info.context.session() as session:
            revoked = await consent_history.withdraw(session, viewer, target)
        if target is None or target == viewer.user_id:
            clear_session_cookie(info.context)
        return revoked
