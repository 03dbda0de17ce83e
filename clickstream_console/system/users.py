"""System → Users: the console's users with the roles they hold and where those come from, and the
changes an administrator makes — add a user, set their roles (stored roles take precedence over the
mapping), use the mapping again, remove them. No change may leave the console without an
Administrator, and each writes its audit entry in the change's own transaction (the caller commits)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from clickstream_console.audit import record
from clickstream_console.db.models import User, UserRole
from clickstream_console.identity.accounts import create_local_user
from clickstream_console.identity.role_mapping import RoleMapping, effective_roles
from clickstream_console.identity.roles import Role
from clickstream_console.identity.store import stored_roles

STORED, MAPPING = "stored", "mapping"


class LastAdministrator(Exception):
    """The change would leave no user holding the Administrator role; nothing was changed."""


@dataclass(frozen=True)
class UserRoles:
    """A user with their roles as the gate computes them on each request, and where they come from."""

    user: User
    stored: frozenset[Role] | None
    # Found at the User Role Json Path in the ID token of the user's last sign-in through the provider.
    groups: frozenset[str]
    mapped: frozenset[Role]

    @property
    def effective(self) -> frozenset[Role]:
        return effective_roles(self.stored, self.mapped)

    @property
    def source(self) -> str:
        return STORED if self.stored is not None else MAPPING

    @property
    def sign_in(self) -> tuple[str, ...]:
        """How the user can sign in: a local password, the identity provider (a user without a
        password can only come through it), or both."""
        local = bool(self.user.password_hash)
        return (("local",) if local else ()) + (("provider",) if self.user.oidc_subject or not local else ())

    def audit_state(self) -> dict:
        return {"roles": sorted(self.effective), "source": self.source}


def roles_of_user(user: User, mapping: RoleMapping) -> UserRoles:
    claims = user.last_claims or {}
    return UserRoles(user=user, stored=stored_roles(user), groups=mapping.groups_in(claims), mapped=mapping.roles_for(claims))


def all_users(session: Session, mapping: RoleMapping) -> list[UserRoles]:
    return [roles_of_user(user, mapping) for user in session.scalars(select(User).order_by(User.email))]


def administrators(session: Session, mapping: RoleMapping) -> list[str]:
    """The emails of the users holding Administrator, read afresh from the database (this
    transaction's pending changes included), not from the objects the session already holds."""
    stored: dict[int, set[Role]] = defaultdict(set)
    for user_id, role in session.execute(select(UserRole.user_id, UserRole.role)):
        stored[user_id].add(Role(role))
    found = []
    for user_id, email, roles_stored, claims in session.execute(select(User.id, User.email, User.roles_stored, User.last_claims)):
        if Role.ADMINISTRATOR in effective_roles(stored[user_id] if roles_stored else None, mapping.roles_for(claims or {})):
            found.append(email)
    return found


def lock_users(session: Session) -> None:
    """Take the users' rows for this transaction before a change that may take an Administrator
    role away: on PostgreSQL two administrators removing each other at the same moment would each
    still see the other; the second now waits, then counts what the first left (SQLite writes
    one transaction at a time and ignores FOR UPDATE)."""
    session.execute(select(User.id).with_for_update()).all()


def keep_an_administrator(session: Session, mapping: RoleMapping, message: str) -> None:
    """After the change is flushed: undo it and refuse when no Administrator is left."""
    session.flush()
    if not administrators(session, mapping):
        session.rollback()
        raise LastAdministrator(message)


def _last_administrator_message(target: User, viewer_id: int) -> str:
    who = "You are" if target.id == viewer_id else f"{target.email} is"
    return (
        f"{who} the last Administrator: without one, nobody could manage users or settings any more. "
        "Give another user the Administrator role first."
    )


def add_user(
    session: Session,
    mapping: RoleMapping,
    *,
    email: str,
    display_name: str,
    roles: Iterable[Role],
    roles_from_mapping: bool,
    password: str | None,
) -> User:
    """A new user with the roles ticked (stored) or, when ``roles_from_mapping``, the roles their
    identity provider's groups map to; a local password when one is given."""
    user = create_local_user(session, email, password, () if roles_from_mapping else roles, display_name)
    user.roles_stored = not roles_from_mapping
    record("user.add", user.email, {"new": roles_of_user(user, mapping).audit_state(), "local_sign_in": password is not None})
    return user


def set_roles(session: Session, mapping: RoleMapping, user: User, roles: Iterable[Role], viewer_id: int) -> None:
    """Store ``roles`` (possibly none) for ``user``: they take precedence over the mapping."""
    lock_users(session)
    before = roles_of_user(user, mapping).audit_state()
    kept = {entry.role: entry for entry in user.roles}
    user.roles = [kept.get(role) or UserRole(role=role) for role in sorted(set(roles))]
    user.roles_stored = True
    keep_an_administrator(session, mapping, _last_administrator_message(user, viewer_id))
    record("user.roles", user.email, {"old": before, "new": roles_of_user(user, mapping).audit_state()})


def use_mapping(session: Session, mapping: RoleMapping, user: User, viewer_id: int) -> None:
    """Forget the stored roles: the user's roles come from their groups again."""
    lock_users(session)
    before = roles_of_user(user, mapping).audit_state()
    user.roles = []
    user.roles_stored = False
    keep_an_administrator(session, mapping, _last_administrator_message(user, viewer_id))
    record("user.use_mapping", user.email, {"old": before, "new": roles_of_user(user, mapping).audit_state()})


def remove_user(session: Session, mapping: RoleMapping, user: User, viewer_id: int) -> None:
    """Delete the user; their sessions end with them (a session names a user that no longer exists)."""
    lock_users(session)
    before = roles_of_user(user, mapping).audit_state()
    email = user.email
    session.delete(user)
    keep_an_administrator(session, mapping, _last_administrator_message(user, viewer_id))
    record("user.remove", email, {"old": before})
