"""Console users: creating local accounts (the first administrator at setup, others in
System → Users) with the rules their fields follow."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clickstream_console.db.models import User, UserRole
from clickstream_console.identity.passwords import hash_password, password_problem
from clickstream_console.identity.roles import Role

# RFC 5321's limit; the address only has to be plausible: it is an identity, never mailed to.
MAX_EMAIL_CHARS = 320
# No control characters either: PostgreSQL refuses NUL in text, and none belongs in an address.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


class AccountError(ValueError):
    """A user could not be created or changed; the message names the field."""


def normalise_email(text: str) -> str:
    """The stored form of an address: trimmed and lower-case, so ``Ana@Example.com`` and
    ``ana@example.com`` are one user."""
    email = text.strip().lower()
    if not email:
        raise AccountError("email: required")
    if len(email) > MAX_EMAIL_CHARS:
        raise AccountError(f"email: at most {MAX_EMAIL_CHARS} characters")
    if not _EMAIL.match(email):
        raise AccountError(f"email: {text.strip()!r} is not an email address (expected name@example.com)")
    return email


def find_user(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email.strip().lower())).first()


def create_local_user(session: Session, email: str, password: str | None, roles: Iterable[Role], display_name: str | None = None) -> User:
    """A user with stored roles and, when given, a local password. The caller commits."""
    address = normalise_email(email)
    if find_user(session, address) is not None:
        raise AccountError(f"email: a user {address!r} already exists")
    if password is not None and (problem := password_problem(password)):
        raise AccountError(f"password: {problem}")
    user = User(
        email=address,
        display_name=(display_name or "").strip() or None,
        password_hash=hash_password(password) if password is not None else None,
        roles_stored=True,
        roles=[UserRole(role=role) for role in sorted(set(roles))],
    )
    session.add(user)
    session.flush()
    return user


def create_first_administrator(session: Session, email: str, password: str) -> User:
    """The setup step of the embedded default: the console's first user is its Administrator.
    Refused once any user exists (later users are added in System → Users)."""
    if session.scalar(select(func.count()).select_from(User)):
        raise AccountError("the console already has users; add more in System → Users")
    return create_local_user(session, email, password, [Role.ADMINISTRATOR])
