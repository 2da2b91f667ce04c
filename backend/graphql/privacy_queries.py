"""Root queries of data rights (merged into Query in backend/graphql/schema.py): anyone's
privacy state and the erasure requests waiting, for admins and the data protection officer.
The viewer's own state is `me { privacy { … } }`."""

from __future__ import annotations

import strawberry

from backend.db import models
from backend.domain.access import require_data_rights_officer
from backend.domain.errors import NotFound
from backend.domain.privacy.erasure import Erasure
from backend.graphql.context import Context
from backend.graphql.ids import parse_id
from backend.graphql.types.privacy import ErasureRequest, Privacy


def erasure_service(info: strawberry.Info[Context]) -> Erasure:
    ctx = info.context
    return Erasure(ctx.services.sessionmaker, ctx.settings, ctx.services.mailer)


@strawberry.type
class PrivacyQueries:
    @strawberry.field(
        graphql_type=Privacy,
        description="A person's data rights state (admins and the data protection officer).",
    )
    async def user_privacy(
        self, info: strawberry.Info[Context], user_id: strawberry.ID
    ) -> models.User:
        require_data_rights_officer(info.context.viewer)
        async with info.context.session() as session:
            user = await session.get(models.User, parse_id(user_id, "userId"))
        if user is None or user.erased_at is not None:
            raise NotFound("No such user.", field="userId")
        return user

    @strawberry.field(
        description="Erasure requests waiting for confirmation, oldest first (admins and the "
        "data protection officer)."
    )
    async def erasure_requests(self, info: strawberry.Info[Context]) -> list[ErasureRequest]:
        erasure = erasure_service(info)
        users = await erasure.pending(info.context.viewer)
        out = []
        async with info.context.session() as session:
            for user in users:
                assert user.erasure_requested_at is not None
                out.append(
                    ErasureRequest(
                        user_id=strawberry.ID(str(user.id)),
                        first_name=user.first_name,
                        last_name=user.last_name,
                        email=user.email,
                        requested_at=user.erasure_requested_at,
                        blocked_reason=await erasure.blocker(session, user.id),
                    )
                )
        return out
