"""Asset checks (the freshness checks are asset checks): the latest execution of each.

The latest execution, not Dagster's "execution for the latest materialization", which is empty
once the asset has been materialized again after the check last ran; a freshness check runs on
its own schedule, so its newest result is the one that says whether data is fresh."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clickstream_console.dagster_api.client import DagsterClient, timestamp


@dataclass(frozen=True)
class CheckState:
    asset_path: tuple[str, ...]
    name: str
    description: str | None
    # IN_PROGRESS, SUCCEEDED, FAILED, EXECUTION_FAILED (the check itself crashed), SKIPPED;
    # None when it never ran.
    status: str | None
    # ERROR or WARN, from the latest evaluation.
    severity: str | None
    evaluated_at: datetime | None
    # What the evaluation said (why it failed, usually).
    message: str | None
    run_id: str | None
    url: str
    run_url: str | None

    @property
    def asset(self) -> str:
        return "/".join(self.asset_path)

    @property
    def failed(self) -> bool:
        return self.status in ("FAILED", "EXECUTION_FAILED")


EXECUTION_FIELDS = "status timestamp runId evaluation { severity description timestamp }"


def asset_checks(client: DagsterClient, names: Collection[str] | None = None) -> list[CheckState]:
    """The checks of every asset (only those called one of ``names``, when given), by asset and
    name, each with its latest execution. Two queries: the checks, then their latest executions."""
    data = client.query(
        "{ assetNodes { assetKey { path } assetChecksOrError { __typename ... on AssetChecks { checks { name description } } } } }"
    )
    checks = sorted(
        (tuple(node["assetKey"]["path"]), check["name"], check.get("description"))
        for node in data["assetNodes"]
        # The other members say the instance or the code location needs upgrading: no checks to show.
        if node["assetChecksOrError"]["__typename"] == "AssetChecks"
        for check in node["assetChecksOrError"]["checks"]
        if names is None or check["name"] in names
    )
    if not checks:
        return []
    variables = ", ".join(f"$asset{index}: [String!]!, $check{index}: String!" for index in range(len(checks)))
    fields = " ".join(
        f"latest{index}: assetCheckExecutions(assetKey: {{path: $asset{index}}}, checkName: $check{index}, limit: 1) {{ {EXECUTION_FIELDS} }}"
        for index in range(len(checks))
    )
    values: dict[str, Any] = {}
    for index, (path, name, _) in enumerate(checks):
        values[f"asset{index}"], values[f"check{index}"] = list(path), name
    executions = client.query(f"query({variables}) {{ {fields} }}", values)
    return [
        _state(client, path, name, description, (executions[f"latest{index}"] or [None])[0])
        for index, (path, name, description) in enumerate(checks)
    ]


def _state(
    client: DagsterClient, path: tuple[str, ...], name: str, description: str | None, execution: Mapping[str, Any] | None
) -> CheckState:
    evaluation = (execution or {}).get("evaluation") or {}
    run_id = execution["runId"] if execution else None
    return CheckState(
        asset_path=path,
        name=name,
        description=description,
        status=execution["status"] if execution else None,
        severity=evaluation.get("severity"),
        evaluated_at=timestamp(evaluation.get("timestamp") or (execution or {}).get("timestamp")),
        message=evaluation.get("description"),
        run_id=run_id,
        url=client.asset_check_url(path, name),
        run_url=client.run_url(run_id) if run_id else None,
    )
