"""Password hashing (Argon2id) and the password rules users are told about."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.domain.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 512

_hasher = PasswordHasher()  # argon2-cffi's defaults are Argon2id with RFC 9106 parameters
# Verified against when the email is unknown, so a login takes as long whether or not it exists.
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-same-cost")


def check_strength(password: str, *, email: str | None = None, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"The password needs at least {MIN_LENGTH} characters.", field=field)
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"The password may have at most {MAX_LENGTH} characters.", field=field)
    if len(set(password)) < 4:
        raise InvalidInput("The password is too simple.", field=field)
    if email and password.strip().lower() in {email.lower(), email.split("@")[0].lower()}:
        raise InvalidInput("The password must not be your email address.", field=field)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
