"""The console's one Dagster client (``console.dagster_url``), kept on the app, and what a page
does after changing the project file: reload Dagster's code locations, whose definitions read the
file when they load, so the change applies without restarting Dagster."""

from __future__ import annotations

from clickstream_console.dagster_api.client import DagsterApiError, DagsterClient
from clickstream_console.dagster_api.locations import code_locations, reload_location
from clickstream_console.state import console_state

SERVICE = "dagster"


def dagster() -> DagsterClient:
    services = console_state().services
    if SERVICE not in services:
        services[SERVICE] = DagsterClient(console_state().settings.dagster_url)
    return services[SERVICE]


def reload_dagster() -> str | None:
    """Reload every code location (the console does not know which of them read this project's
    file; there is usually one). None when all reloaded, else what went wrong, for the page."""
    client = dagster()
    try:
        problems = [
            f"code location {location.name} did not load: {location.error}"
            for location in (reload_location(client, entry.name) for entry in code_locations(client))
            if not location.ok
        ]
    except DagsterApiError as error:
        return str(error)
    return "; ".join(problems) or None
