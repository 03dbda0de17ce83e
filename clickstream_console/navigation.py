"""The console's areas in the order the menu shows them, each behind the feature it belongs to.
An entry appears only when its blueprint is registered, the viewer may use it and, for an area
only some projects have, the project has it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from clickstream_console.access import Viewer
from clickstream_console.identity.roles import Feature
from clickstream_console.state import project
from clickstream_project.config import ConfigError, ProjectConfig


@dataclass(frozen=True)
class NavEntry:
    label: str
    endpoint: str
    feature: Feature
    section: str
    # Endpoint prefixes of the pages under this entry (a report page is under Dashboards).
    covers: tuple[str, ...] = ()
    # For an area only some projects have (None: every project has it).
    applies: Callable[[ProjectConfig], bool] | None = None

    def is_current(self, endpoint: str | None) -> bool:
        return endpoint is not None and (endpoint == self.endpoint or endpoint.startswith(self.covers))


NAV = (
    NavEntry("Projects & apps", "projects.apps", Feature.PROJECT_MANAGEMENT, "Operations"),
    NavEntry("Pipeline", "pipeline.overview", Feature.OPERATION_AND_ALARM, "Operations"),
    NavEntry("Alarms", "alarms.overview", Feature.OPERATION_AND_ALARM, "Operations"),
    NavEntry("Plugins", "plugins.overview", Feature.PLUGIN_MANAGEMENT, "Operations"),
    NavEntry("Dashboards", "studio.index", Feature.DASHBOARDS, "Analytics Studio", covers=("studio.",)),
    NavEntry("Explore", "explore.index", Feature.EXPLORE, "Analytics Studio", covers=("explore.",)),
    NavEntry("Data Management", "catalogue.index", Feature.DATA_MANAGEMENT, "Analytics Studio", covers=("catalogue.",)),
    NavEntry(
        "Cognito identities",
        "cognito.index",
        Feature.ANALYZES,
        "Analytics Studio",
        covers=("cognito.",),
        applies=lambda config: bool(config.pipeline.sources),
    ),
    NavEntry("Users", "system.users", Feature.IDENTITY_MANAGEMENT, "System"),
    NavEntry("Settings", "system.settings", Feature.IDENTITY_MANAGEMENT, "System"),
    NavEntry("Audit log", "system.audit", Feature.IDENTITY_MANAGEMENT, "System"),
)


def nav_for(viewer: Viewer | None) -> list[NavEntry]:
    if viewer is None:
        return []
    entries = [entry for entry in NAV if entry.endpoint in current_app.view_functions and viewer.may(entry.feature)]
    if any(entry.applies is not None for entry in entries):
        try:
            config = project()
        except ConfigError:
            # The menu is drawn on error pages too, one of which reports this very problem.
            config = None
        entries = [entry for entry in entries if entry.applies is None or (config is not None and entry.applies(config))]
    return entries
