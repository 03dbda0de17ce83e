"""Runs: the latest of each job, with status, times, partition and a link to the run's page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clickstream_console.dagster_api.client import ERROR_FIELDS, DagsterClient, expect, timestamp

# Dagster's own run tags: the partition of a run, or the first and last of its range.
PARTITION_TAG = "dagster/partition"
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"

RUN_FIELDS = "runId jobName status creationTime startTime endTime tags { key value }"


@dataclass(frozen=True)
class Run:
    run_id: str
    job_name: str
    # Dagster's RunStatus: QUEUED, STARTING, STARTED, SUCCESS, FAILURE, CANCELED...
    status: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    tags: Mapping[str, str] = field(default_factory=dict)
    url: str = ""

    @property
    def duration(self) -> timedelta | None:
        """How long it ran; None until it has ended (or when it never started)."""
        return self.ended_at - self.started_at if self.started_at and self.ended_at else None

    @property
    def partition(self) -> str | None:
        if PARTITION_TAG in self.tags:
            return self.tags[PARTITION_TAG]
        if PARTITION_RANGE_START_TAG in self.tags:
            return f"{self.tags[PARTITION_RANGE_START_TAG]}..{self.tags.get(PARTITION_RANGE_END_TAG, '')}"
        return None


def run_from(client: DagsterClient, value: Mapping[str, Any]) -> Run:
    return Run(
        run_id=value["runId"],
        job_name=value["jobName"],
        status=value["status"],
        created_at=timestamp(value["creationTime"]),
        started_at=timestamp(value.get("startTime")),
        ended_at=timestamp(value.get("endTime")),
        tags={tag["key"]: tag["value"] for tag in value.get("tags") or ()},
        url=client.run_url(value["runId"]),
    )


def recent_runs(client: DagsterClient, *, job_name: str | None = None, limit: int = 20) -> list[Run]:
    """The newest runs first, of one job or of all."""
    data = client.query(
        f"query($filter: RunsFilter, $limit: Int) {{ runsOrError(filter: $filter, limit: $limit) {{ {ERROR_FIELDS} "
        f"... on Runs {{ results {{ {RUN_FIELDS} }} }} }} }}",
        {"filter": {"pipelineName": job_name} if job_name else {}, "limit": limit},
    )
    return [run_from(client, run) for run in expect(data["runsOrError"], "Runs")["results"]]


def last_runs(client: DagsterClient, job_names: Sequence[str] | None = None, *, per_job: int = 1) -> dict[str, list[Run]]:
    """Each job's newest ``per_job`` runs (an empty list for a job that never ran), in one query.
    Without names, every job of the workspace except Dagster's hidden ones."""
    names = list(job_names) if job_names is not None else job_names_of_workspace(client)
    if not names:
        return {}
    variables = ", ".join(f"$job{index}: String" for index in range(len(names)))
    fields = " ".join(
        f"job{index}: runsOrError(filter: {{pipelineName: $job{index}}}, limit: $limit) {{ {ERROR_FIELDS} "
        f"... on Runs {{ results {{ {RUN_FIELDS} }} }} }}"
        for index in range(len(names))
    )
    data = client.query(
        f"query($limit: Int, {variables}) {{ {fields} }}", {"limit": per_job, **{f"job{index}": name for index, name in enumerate(names)}}
    )
    return {name: [run_from(client, run) for run in expect(data[f"job{index}"], "Runs")["results"]] for index, name in enumerate(names)}


def job_names_of_workspace(client: DagsterClient) -> list[str]:
    data = client.query(f"{{ repositoriesOrError {{ {ERROR_FIELDS} ... on RepositoryConnection {{ nodes {{ jobs {{ name }} }} }} }} }}")
    repositories = expect(data["repositoriesOrError"], "RepositoryConnection")["nodes"]
    # "__ASSET_JOB" and the like are Dagster's own, for materializing assets from the UI.
    return sorted({job["name"] for repository in repositories for job in repository["jobs"] if not job["name"].startswith("__")})
