"""Sign-up, login with consent, logout and passwords."""

from __future__ import annotations

from datetime import datetime

import strawberry

from backend.db import models
from backend.db.models import Language
from backend.domain.accounts import Accounts
from backend.domain.errors import Unauthenticated
from backend.graphql.context import Context
from backend.graphql.session_cookie import clear_session_cookie, set_session_cookie
from backend.graphql.types.users import User


@strawberry.input
class SignUpInput:
    email: str
    password: str
    first_name: str
    last_name: str
    accepted_policy_version: str
    language: Language = Language.EN


@strawberry.input
class LogInInput:
    email: str
    password: str
    accepted_policy_version: str | None = None


@strawberry.type
class LogInPayload:
    token: str
    expires_at: datetime
    user: User


def _accounts(ctx: Context, session: object) -> Accounts:
    return Accounts(session, ctx.settings, ctx.services.mailer)  # type: ignore[arg-type]


def _client(ctx: Context) -> str | None:
    """The caller's network address (behind a proxy, uvicorn takes it from X-Forwarded-For
    when the proxy is in FORWARDED_ALLOW_IPS)."""
    request = ctx.request
    return request.client.host if request is not None and request.client else None


@strawberry.type
class AccountMutations:
    @strawberry.mutation
    async def sign_up(self, info: strawberry.Info[Context], input: SignUpInput) -> bool:
        async with info.context.session() as session:
            await _accounts(info.context, session).sign_up(
                email=input.email,
                password=input.password,
                first_name=input.first_name,
                last_name=input.last_name,
                language=models.Language(input.language),
                accepted_policy_version=input.accepted_policy_version,
                client=_client(info.context),
            )
        return True

    @strawberry.mutation
    async def verify_email(self, info: strawberry.Info[Context], token: str) -> bool:
        async with info.context.session() as session:
            await _accounts(info.context, session).verify_email(token)
        return True

    @strawberry.mutation
    async def log_in(self, info: strawberry.Info[Context], input: LogInInput) -> LogInPayload:
        async with info.context.session() as session:
            result = await _accounts(info.context, session).log_in(
                email=input.email,
                password=input.password,
                accepted_policy_version=input.accepted_policy_version,
                client=_client(info.context),
            )
            # The payload's fields are read as the person who just logged in.
            info.context.viewer = await _accounts(info.context, session).viewer_for_user(
                result.user.id, result.user.role, session_id=result.session_id
            )
        set_session_cookie(info.context, result.token, result.expires_at)
        return LogInPayload(
            token=result.token,
            expires_at=result.expires_at,
            user=result.user,  # type: ignore[arg-type]
        )

    @strawberry.mutation
    async def log_out(self, info: strawberry.Info[Context]) -> bool:
        async with info.context.session() as session:
            await _accounts(info.context, session).log_out(info.context.viewer)
        clear_session_cookie(info.context)
        return True

    @strawberry.mutation
    async def request_password_reset(self, info: strawberry.Info[Context], email: str) -> bool:
        async with info.context.session() as session:
            await _accounts(info.context, session).request_password_reset(
                email, client=_client(info.context)
            )
        return True

    @strawberry.mutation
    async def reset_password(
        self, info: strawberry.Info[Context], token: str, new_password: str
    ) -> bool:
        async with info.context.session() as session:
            await _accounts(info.context, session).reset_password(token, new_password)
        return True

    @strawberry.mutation
    async def change_password(
        self, info: strawberry.Info[Context], current_password: str, new_password: str
    ) -> bool:
        if not info.context.viewer.authenticated:
            raise Unauthenticated()
        async with info.context.session() as session:
            await _accounts(info.context, session).change_password(
                info.context.viewer, current_password, new_password
            )
        return True
