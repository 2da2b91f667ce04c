"""Errors a caller can act on. Each carries a stable code that clients translate."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions: dict[str, Any] = {"code": self.code, **extensions}
        if field is not None:
            self.extensions["field"] = field


class InvalidInput(DomainError):
    code = "BAD_USER_INPUT"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "You must be logged in.", **kw: Any) -> None:
        super().__init__(message, **kw)


class Forbidden(DomainError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "You are not allowed to do this.", **kw: Any) -> None:
        super().__init__(message, **kw)


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"


class InvalidCredentials(DomainError):
    code = "INVALID_CREDENTIALS"


class ConsentRequired(DomainError):
    code = "CONSENT_REQUIRED"


class AccountNotActive(DomainError):
    code = "ACCOUNT_NOT_ACTIVE"


class AccountLocked(DomainError):
    code = "ACCOUNT_LOCKED"


class TooManyAttempts(DomainError):
    code = "TOO_MANY_ATTEMPTS"


class EmailNotVerified(DomainError):
    code = "EMAIL_NOT_VERIFIED"


class InvalidToken(DomainError):
    code = "INVALID_TOKEN"


class StationOffline(DomainError):
    """No server process holds a live connection to the station."""

    code = "STATION_OFFLINE"


class StationTimeout(DomainError):
    """The station (or the process holding it) did not answer in time."""

    code = "STATION_TIMEOUT"


class StationRejected(DomainError):
    """The station answered the command with an OCPP CALLERROR."""

    code = "STATION_REJECTED"
