"""The four roles of the product and the features each may use, exactly as the product's identity
management documentation tables them (tests/fixtures/seeds/identity-management.md; the test
compares the two).

A user may hold several roles and then has the union of their features; a user with no role has
none, and sees only a "no access" page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class Role(StrEnum):
    ADMINISTRATOR = "Administrator"
    OPERATOR = "Operator"
    ANALYST = "Analyst"
    ANALYST_READER = "Analyst Reader"


class Feature(StrEnum):
    PROJECT_MANAGEMENT = "Project management"
    OPERATION_AND_ALARM = "Operation and Alarm"
    PLUGIN_MANAGEMENT = "Plugin Management"
    IDENTITY_MANAGEMENT = "Identity Management"
    DASHBOARDS = "Analytics Studio - Dashboards"
    EXPLORE = "Analytics Studio - Explore"
    ANALYZES = "Analytics Studio - Analyzes"
    DATA_MANAGEMENT = "Analytics Studio - Data Management"


_OPERATIONS = frozenset({Feature.PROJECT_MANAGEMENT, Feature.OPERATION_AND_ALARM, Feature.PLUGIN_MANAGEMENT})
_STUDIO_READ = frozenset({Feature.DASHBOARDS, Feature.EXPLORE, Feature.DATA_MANAGEMENT})

PERMISSIONS: Mapping[Role, frozenset[Feature]] = {
    Role.ADMINISTRATOR: frozenset(Feature),
    Role.OPERATOR: _OPERATIONS,
    # "View and update in Analytics Studio": Analyzes (saving reports) is the update.
    Role.ANALYST: _STUDIO_READ | {Feature.ANALYZES},
    Role.ANALYST_READER: _STUDIO_READ,
}


def features_of(roles: Iterable[Role]) -> frozenset[Feature]:
    """What a user holding ``roles`` may use: the union of the roles' features."""
    return frozenset().union(*(PERMISSIONS[role] for role in roles))


def may_use(roles: Iterable[Role], feature: Feature) -> bool:
    return feature in features_of(roles)
