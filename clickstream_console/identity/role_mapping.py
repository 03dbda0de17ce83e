"""A signed-in user's roles from their ID token: the groups found at the **User Role Json Path**,
mapped to roles by the **role names** settings (identity-management.md, "User roles management").

- The path is a JSONPath evaluated over ``{"payload": <ID token claims>}``; the default reads
  Cognito's ``cognito:groups``, ``$.payload.realm_access.roles`` reads Keycloak's realm roles.
- Each role's setting is a comma-separated list of group names (``Group1,Group2``); blanks
  around names and empty entries are ignored, names are compared exactly (groups are
  case-sensitive in Cognito and Keycloak).
- What the path finds may be a list of names or a single name (ADFS sends one role as a string);
  anything else (an object, a number) names no group, and a path that finds nothing gives no
  roles: the user then has no access rather than an error.
- A user in several mapped groups holds every role they map to.
- Roles an administrator stored for the user (System → Users) take precedence over the mapping
  (``effective_roles``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext import parse

from clickstream_console.identity.roles import Role

DEFAULT_ROLE_JSON_PATH = "$.payload['cognito:groups']"
DEFAULT_ROLE_GROUPS: Mapping[Role, str] = {
    Role.ADMINISTRATOR: "ClickstreamAdmin",
    Role.OPERATOR: "ClickstreamOperator",
    Role.ANALYST: "ClickstreamAnalyst",
    Role.ANALYST_READER: "ClickstreamAnalystReader",
}


def group_names(setting: str) -> frozenset[str]:
    """The group names of one role's setting: ``" Group1, ,Group2 "`` → ``{"Group1", "Group2"}``."""
    return frozenset(name.strip() for name in setting.split(",") if name.strip())


@dataclass(frozen=True)
class RoleMapping:
    json_path: str = DEFAULT_ROLE_JSON_PATH
    # Role → its comma-separated group names, as the Settings page edits them.
    role_groups: Mapping[Role, str] = field(default_factory=lambda: dict(DEFAULT_ROLE_GROUPS))
    _path: JSONPath = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            path = parse(self.json_path)
        except JSONPathError as error:
            raise ValueError(f"User Role Json Path: {self.json_path!r} is not a JSONPath ({error})") from None
        object.__setattr__(self, "_path", path)
        unknown = [str(role) for role in self.role_groups if not isinstance(role, Role)]
        if unknown:
            raise ValueError(f"role names: unknown roles {unknown}; expected {[str(role) for role in Role]}")

    def values_at(self, claims: Mapping[str, Any]) -> list[Any]:
        """What the path finds in the ID token's claims, as found (Settings shows it when testing
        a path that finds no names)."""
        return [match.value for match in self._path.find({"payload": claims})]

    def groups_in(self, claims: Mapping[str, Any]) -> frozenset[str]:
        """The group names the path finds in the ID token's claims."""
        found: set[str] = set()
        for value in self.values_at(claims):
            if isinstance(value, str):
                found.add(value)
            elif isinstance(value, list):
                found.update(item for item in value if isinstance(item, str))
        return frozenset(found)

    def roles_for(self, claims: Mapping[str, Any]) -> frozenset[Role]:
        groups = self.groups_in(claims)
        return frozenset(role for role, setting in self.role_groups.items() if group_names(setting) & groups)


def effective_roles(stored: Iterable[Role] | None, mapped: Iterable[Role]) -> frozenset[Role]:
    """The roles a user holds: those an administrator stored for them when there is such an entry
    (even an empty one: an administrator may take every role away), else the mapped ones."""
    return frozenset(stored) if stored is not None else frozenset(mapped)
