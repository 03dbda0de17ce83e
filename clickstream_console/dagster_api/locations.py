"""Code locations: whether each loaded, and reloading one so that a configuration the console
just wrote takes effect (the definitions read it when they load) without restarting Dagster."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clickstream_console.dagster_api.client import ERROR_FIELDS, DagsterClient, expect

# Loading the project's definitions parses the dbt manifest and builds every app's assets: tens of
# seconds on a busy machine, far above a query's timeout.
RELOAD_TIMEOUT_SECONDS = 180.0

ENTRY_FIELDS = f"name loadStatus locationOrLoadError {{ {ERROR_FIELDS} }}"


@dataclass(frozen=True)
class CodeLocation:
    name: str
    # LOADING or LOADED (loaded can mean loaded with an error: see ``error``).
    load_status: str
    # Why its definitions did not load (a bad configuration, an import error), else None.
    error: str | None
    url: str

    @property
    def ok(self) -> bool:
        return self.load_status == "LOADED" and self.error is None


def code_locations(client: DagsterClient) -> list[CodeLocation]:
    data = client.query(f"{{ workspaceOrError {{ {ERROR_FIELDS} ... on Workspace {{ locationEntries {{ {ENTRY_FIELDS} }} }} }} }}")
    return [_location(client, entry) for entry in expect(data["workspaceOrError"], "Workspace")["locationEntries"]]


def reload_location(client: DagsterClient, name: str, *, timeout: float = RELOAD_TIMEOUT_SECONDS) -> CodeLocation:
    """Reload the code location and wait for it; a location that fails to load is returned with
    its error (the previous definitions are gone then: Dagster shows the error too)."""
    data = client.query(
        f"mutation($name: String!) {{ reloadRepositoryLocation(repositoryLocationName: $name) {{ {ERROR_FIELDS} "
        f"... on WorkspaceLocationEntry {{ {ENTRY_FIELDS} }} }} }}",
        {"name": name},
        timeout=timeout,
    )
    return _location(client, expect(data["reloadRepositoryLocation"], "WorkspaceLocationEntry"))


def _location(client: DagsterClient, entry: Mapping[str, Any]) -> CodeLocation:
    loaded = entry.get("locationOrLoadError") or {}
    return CodeLocation(
        name=entry["name"],
        load_status=entry["loadStatus"],
        error=loaded.get("message") if loaded.get("__typename") == "PythonError" else None,
        url=client.ui("locations"),
    )
