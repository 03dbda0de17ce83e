"""System → Settings: the role mapping (identity-management.md, "User roles management") — the
**User Role Json Path** and each role's comma-separated group names — read from the form, saved in
the one RoleMappingSettings row, and tried on a pasted ID token before saving. Roles are mapped
again on every request, so a saved change applies to every user's next request."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from clickstream_console.access import current_viewer
from clickstream_console.audit import record
from clickstream_console.db.models import RoleMappingSettings, utc_now
from clickstream_console.identity.role_mapping import DEFAULT_ROLE_JSON_PATH, RoleMapping, group_names
from clickstream_console.identity.roles import Role
from clickstream_console.system.forms import FormError, text_field
from clickstream_console.system.users import keep_an_administrator, lock_users

PATH_FIELD = "json_path"
# The settings' names on the page, as the product's documentation calls them ("Operator Role Name").
GROUP_FIELDS: dict[Role, str] = {
    Role.ADMINISTRATOR: "administrator_groups",
    Role.OPERATOR: "operator_groups",
    Role.ANALYST: "analyst_groups",
    Role.ANALYST_READER: "analyst_reader_groups",
}
SAMPLE_FIELD = "sample"
# The column's width; a real path is a few dozen characters.
MAX_PATH_CHARS = 500
# Far more than any list of group names an administrator types.
MAX_GROUPS_CHARS = 4000
# An ID token is a few kilobytes and a few levels deep; a pasted one 16 times larger or ten times
# deeper is not a token (and its display would exhaust Python's recursion limit near 1000 levels).
MAX_SAMPLE_CHARS = 64 * 1024
MAX_SAMPLE_DEPTH = 32


def form_values(mapping: RoleMapping) -> dict[str, str]:
    """The page's fields filled from a mapping."""
    return {PATH_FIELD: mapping.json_path, **{field: mapping.role_groups.get(role, "") for role, field in GROUP_FIELDS.items()}}


def _normalised_groups(setting: str) -> str:
    """``" Group1, ,Group2 ,Group1"`` → ``"Group1, Group2"``: what the mapping reads, shown as saved."""
    names = [name.strip() for name in setting.split(",") if name.strip()]
    return ", ".join(dict.fromkeys(names))


def mapping_from_form(form: MultiDict[str, str]) -> RoleMapping:
    problems: dict[str, str] = {}
    values: dict[str, str] = {}
    for field, max_chars in [(PATH_FIELD, MAX_PATH_CHARS), *((field, MAX_GROUPS_CHARS) for field in GROUP_FIELDS.values())]:
        try:
            values[field] = text_field(form, field, max_chars=max_chars)
        except FormError as error:
            problems.update(error.problems)
    if PATH_FIELD in values and not values[PATH_FIELD]:
        problems[PATH_FIELD] = f"required (the default is {DEFAULT_ROLE_JSON_PATH})"
    if problems:
        raise FormError(problems)
    try:
        return RoleMapping(
            json_path=values[PATH_FIELD], role_groups={role: _normalised_groups(values[field]) for role, field in GROUP_FIELDS.items()}
        )
    except ValueError as error:
        # The only setting RoleMapping can refuse here: the roles are ours.
        raise FormError({PATH_FIELD: str(error).partition(": ")[2]}) from None


def save_mapping(session: Session, old: RoleMapping, new: RoleMapping) -> None:
    """Store ``new``, refusing settings under which no user would hold the Administrator role."""
    lock_users(session)
    row = session.scalars(select(RoleMappingSettings).limit(1)).first()
    if row is None:
        row = RoleMappingSettings()
        session.add(row)
    row.json_path = new.json_path
    row.role_groups = {role.value: groups for role, groups in new.role_groups.items()}
    row.updated_at = utc_now()
    row.updated_by = current_viewer().email
    keep_an_administrator(
        session,
        new,
        "With these settings no user would hold the Administrator role, and nobody could change them back. "
        "Store the Administrator role for a user in System → Users first, or keep a group that maps to it.",
    )
    record("settings.role_mapping", "role mapping", {"old": form_values(old), "new": form_values(new)})


@dataclass(frozen=True)
class MappingTrial:
    """What a mapping makes of one ID token's claims."""

    found: list[Any]
    groups: frozenset[str]
    roles: frozenset[Role]
    # Group names of the token no role's setting lists (a typo in the settings, or another app's group).
    unmapped: frozenset[str]
    problem: str | None


def claims_from_sample(text: str) -> dict[str, Any]:
    """An ID token's claims from what was pasted: the claims as JSON, or the token itself (a JWT),
    of which only the payload is decoded — its signature is not checked, nothing here trusts it."""
    text = text.strip()
    if not text:
        raise FormError({SAMPLE_FIELD: "paste an ID token or its claims as JSON"})
    if len(text) > MAX_SAMPLE_CHARS:
        raise FormError({SAMPLE_FIELD: f"at most {MAX_SAMPLE_CHARS} characters"})
    if not text.startswith("{"):
        parts = text.split(".")
        if len(parts) != 3:
            raise FormError({SAMPLE_FIELD: "neither a JSON object nor a JWT (three base64url parts separated by dots)"})
        try:
            text = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise FormError({SAMPLE_FIELD: "the JWT's payload (its middle part) is not base64url-encoded UTF-8"}) from None
    try:
        claims = json.loads(text)
    except ValueError as error:  # JSONDecodeError, or an integer of more than 4300 digits
        raise FormError({SAMPLE_FIELD: f"not JSON ({error})"}) from None
    except RecursionError:
        raise FormError({SAMPLE_FIELD: f"the claims are nested more than {MAX_SAMPLE_DEPTH} levels deep"}) from None
    if not isinstance(claims, dict):
        raise FormError({SAMPLE_FIELD: f"the claims must be a JSON object, not {_kind(claims)}"})
    if _depth(claims) > MAX_SAMPLE_DEPTH:
        raise FormError({SAMPLE_FIELD: f"the claims are nested more than {MAX_SAMPLE_DEPTH} levels deep"})
    return claims


def _depth(value: Any) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        pending.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def try_mapping(mapping: RoleMapping, claims: dict[str, Any]) -> MappingTrial:
    found = mapping.values_at(claims)
    groups = mapping.groups_in(claims)
    mapped_names = frozenset().union(*(group_names(setting) for setting in mapping.role_groups.values()))
    problem = None
    if not found:
        problem = f"The path {mapping.json_path} finds nothing in these claims: the user would get no role from the mapping."
    elif not groups:
        kinds = " and ".join(sorted({_kind(value) for value in found}))
        problem = f"The path finds {kinds} but no group name (a list of names, or one name): the user would get no role from the mapping."
    return MappingTrial(found=found, groups=groups, roles=mapping.roles_for(claims), unmapped=groups - mapped_names, problem=problem)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list of names" if any(isinstance(item, str) for item in value) else "a list without names" if value else "an empty list"
    return {dict: "an object", str: "a name", int: "a number", float: "a number"}[type(value)]
