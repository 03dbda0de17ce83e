"""Local console passwords (the embedded default, where there is no identity provider), hashed
with argon2id at argon2-cffi's defaults (RFC 9106's second recommended profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Longer passwords only cost hashing time; a phrase of this length is already far beyond guessing.
MAX_PASSWORD_CHARS = 1024
MIN_PASSWORD_CHARS = 12


def password_problem(password: str) -> str | None:
    """Why a new password is refused (a sentence for the form), or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password must have at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"the password may have at most {MAX_PASSWORD_CHARS} characters"
    return None


def hash_password(password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; False for a user without a local password or a hash that is
    not argon2's (never an exception: a login form only learns yes or no)."""
    if not stored_hash or len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's: rehash at the next login."""
    return _HASHER.check_needs_rehash(stored_hash)
