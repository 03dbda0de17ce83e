"""Roles and role mapping, against the product's own identity-management documentation
(tests/fixtures/seeds/identity-management.md, a copy of the seed)."""

from __future__ import annotations

import re

import pytest

from clickstream_console.identity.role_mapping import DEFAULT_ROLE_GROUPS, RoleMapping, effective_roles, group_names
from clickstream_console.identity.roles import PERMISSIONS, Feature, Role, features_of, may_use
from tests.console.seed_tables import seed_permissions, seed_table

COGNITO_ANALYST = {"sub": "u1", "email": "a@example.com", "cognito:groups": ["ClickstreamAnalyst"]}
# The seed's Keycloak token, with its realm roles.
KEYCLOAK = {"iss": "https://keycloak.example/auth/realms/x", "realm_access": {"roles": ["role1", "role2", "role3"]}}


def test_the_permission_table_is_the_seeds():
    seed = seed_permissions()
    assert {(role, feature) for role in Role for feature in Feature} == set(seed), "every role and feature of the seed, no other"
    ours = {(role, feature): feature in PERMISSIONS[role] for role in Role for feature in Feature}
    assert ours == seed


def test_the_default_group_names_are_the_seeds():
    assert {Role(row[1]): row[0] for row in seed_table("Group name in Cognito")} == DEFAULT_ROLE_GROUPS


def test_several_roles_hold_the_union_and_no_role_holds_nothing():
    assert features_of([]) == frozenset()
    assert not may_use([], Feature.DASHBOARDS)
    both = features_of([Role.OPERATOR, Role.ANALYST_READER])
    assert both == PERMISSIONS[Role.OPERATOR] | PERMISSIONS[Role.ANALYST_READER]
    assert Feature.IDENTITY_MANAGEMENT not in both and not may_use([Role.OPERATOR, Role.ANALYST_READER], Feature.ANALYZES)
    assert features_of([Role.ADMINISTRATOR]) == frozenset(Feature)


def test_cognito_groups_map_to_roles_by_default():
    assert RoleMapping().roles_for(COGNITO_ANALYST) == {Role.ANALYST}
    admin_and_reader = {**COGNITO_ANALYST, "cognito:groups": ["ClickstreamAdmin", "ClickstreamAnalystReader", "Other"]}
    assert RoleMapping().roles_for(admin_and_reader) == {Role.ADMINISTRATOR, Role.ANALYST_READER}


def test_keycloak_realm_roles_through_the_seeds_path_with_several_groups_per_role():
    mapping = RoleMapping(json_path="$.payload.realm_access.roles", role_groups={Role.OPERATOR: "Group1,role2", Role.ANALYST: "role9"})
    assert mapping.roles_for(KEYCLOAK) == {Role.OPERATOR}
    assert RoleMapping().roles_for(KEYCLOAK) == frozenset()  # the default path finds no cognito:groups


def test_group_settings_ignore_blanks_and_empty_entries():
    assert group_names(" Group1, ,Group2 ,,") == {"Group1", "Group2"}
    assert group_names("") == group_names(" , ") == frozenset()
    mapping = RoleMapping(role_groups={Role.ANALYST: " , ClickstreamAnalyst ,", Role.OPERATOR: ""})
    assert mapping.roles_for(COGNITO_ANALYST) == {Role.ANALYST}
    # An empty setting never matches, not even a group whose name is empty.
    assert mapping.roles_for({"cognito:groups": ["", " "]}) == frozenset()


@pytest.mark.parametrize(
    ("claims", "roles"),
    [
        ({}, set()),  # the path matches nothing
        ({"cognito:groups": None}, set()),
        ({"cognito:groups": {"ClickstreamAdmin": True}}, set()),  # an object names no group
        ({"cognito:groups": 7}, set()),
        ({"cognito:groups": [7, None, {"x": 1}, "ClickstreamOperator"]}, {Role.OPERATOR}),  # only the names count
        ({"cognito:groups": "ClickstreamAnalystReader"}, {Role.ANALYST_READER}),  # a single name (ADFS)
        ({"cognito:groups": ["clickstreamadmin"]}, set()),  # names are case-sensitive
    ],
)
def test_claims_that_are_not_a_list_of_names(claims, roles):
    assert RoleMapping().roles_for(claims) == roles


@pytest.mark.parametrize("path", ["", "$.payload[", "$$", "$.a b"])
def test_a_bad_json_path_is_refused_naming_the_setting(path):
    with pytest.raises(ValueError, match=re.escape(f"User Role Json Path: {path!r} is not a JSONPath")):
        RoleMapping(json_path=path)


def test_unknown_roles_in_the_mapping_are_refused():
    with pytest.raises(ValueError, match=r"role names: unknown roles \['Superuser'\]"):
        RoleMapping(role_groups={"Superuser": "Admins"})


def test_stored_roles_take_precedence_over_the_mapping():
    mapped = RoleMapping().roles_for(COGNITO_ANALYST)
    assert effective_roles(None, mapped) == {Role.ANALYST}
    assert effective_roles([Role.OPERATOR], mapped) == {Role.OPERATOR}
    assert effective_roles([], mapped) == frozenset()  # an administrator took every role away
