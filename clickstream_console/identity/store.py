"""The identity settings and stored roles as the console database keeps them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clickstream_console.db.models import RoleMappingSettings, User
from clickstream_console.identity.role_mapping import RoleMapping
from clickstream_console.identity.roles import Role


def role_mapping(session: Session) -> RoleMapping:
    """The saved mapping, else the product's defaults (Cognito's groups)."""
    row = session.scalars(select(RoleMappingSettings).limit(1)).first()
    if row is None:
        return RoleMapping()
    return RoleMapping(json_path=row.json_path, role_groups={Role(role): groups for role, groups in row.role_groups.items()})


def stored_roles(user: User) -> frozenset[Role] | None:
    """The roles an administrator set for ``user`` (possibly none), or None when none were set."""
    return frozenset(Role(entry.role) for entry in user.roles) if user.roles_stored else None
