"""The web app's login session travels in an HttpOnly cookie; other clients use a bearer token."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import HTTPConnection

from backend.graphql.context import Context

COOKIE_NAME = "vev_session"


def session_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return conn.cookies.get(COOKIE_NAME) or None


def set_session_cookie(ctx: Context, token: str, expires_at: datetime) -> None:
    if ctx.response is None:
        return
    ctx.response.set_cookie(
        COOKIE_NAME,
        token,
        expires=expires_at,
        httponly=True,
        secure=ctx.settings.cookie_secure,
        samesite="strict",
        path="/",
    )


def clear_session_cookie(ctx: Context) -> None:
    if ctx.response is not None:
        ctx.response.delete_cookie(COOKIE_NAME, path="/")
