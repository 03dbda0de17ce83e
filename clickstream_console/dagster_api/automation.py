"""Sensors and schedules: whether each is running, its last tick, and switching it on or off.

A switch is stored in the Dagster instance (what the UI's toggle does) and wins over the
``default_status`` in code until it is switched again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from clickstream_console.dagster_api.client import ERROR_FIELDS, DagsterClient, expect, timestamp

InstigatorKind = Literal["sensor", "schedule"]

TICK_FIELDS = "ticks(limit: 1) { status timestamp skipReason error { message } }"
STATE_FIELDS = f"id status {TICK_FIELDS}"


@dataclass(frozen=True)
class Tick:
    # STARTED, SKIPPED, SUCCESS or FAILURE
    status: str
    at: datetime
    skip_reason: str | None
    error: str | None


@dataclass(frozen=True)
class Instigator:
    """A sensor or a schedule of a code location."""

    kind: InstigatorKind
    name: str
    location: str
    repository: str
    # The id of its state in the instance, which stopping takes.
    state_id: str
    running: bool
    description: str | None
    last_tick: Tick | None
    # Schedules only: the cron expression and its time zone.
    cron: str | None
    timezone: str | None
    url: str

    @property
    def key(self) -> str:
        """Unique in a workspace: what a form names to switch it."""
        return f"{self.kind}:{self.location}:{self.repository}:{self.name}"


def sensors_and_schedules(client: DagsterClient) -> list[Instigator]:
    """Every sensor and schedule of the workspace, sensors first, by name."""
    data = client.query(
        f"{{ repositoriesOrError {{ {ERROR_FIELDS} ... on RepositoryConnection {{ nodes {{ name location {{ name }} "
        f"sensors {{ name description sensorState {{ {STATE_FIELDS} }} }} "
        f"schedules {{ name description cronSchedule executionTimezone scheduleState {{ {STATE_FIELDS} }} }} }} }} }} }}"
    )
    found: list[Instigator] = []
    for repository in expect(data["repositoriesOrError"], "RepositoryConnection")["nodes"]:
        location = repository["location"]["name"]
        for sensor in repository["sensors"]:
            found.append(_instigator(client, "sensor", sensor, sensor["sensorState"], location, repository["name"]))
        for schedule in repository["schedules"]:
            found.append(_instigator(client, "schedule", schedule, schedule["scheduleState"], location, repository["name"]))
    return sorted(found, key=lambda item: (item.kind != "sensor", item.name, item.location))


def start(client: DagsterClient, instigator: Instigator) -> bool:
    """Switch it on; whether it is running now."""
    if instigator.kind == "sensor":
        data = client.query(
            f"mutation($selector: SensorSelector!) {{ startSensor(sensorSelector: $selector) {{ {ERROR_FIELDS} "
            "... on Sensor { sensorState { status } } } }",
            {"selector": {**_selector(instigator), "sensorName": instigator.name}},
        )
        return expect(data["startSensor"], "Sensor")["sensorState"]["status"] == "RUNNING"
    data = client.query(
        f"mutation($selector: ScheduleSelector!) {{ startSchedule(scheduleSelector: $selector) {{ {ERROR_FIELDS} "
        "... on ScheduleStateResult { scheduleState { status } } } }",
        {"selector": {**_selector(instigator), "scheduleName": instigator.name}},
    )
    return expect(data["startSchedule"], "ScheduleStateResult")["scheduleState"]["status"] == "RUNNING"


def stop(client: DagsterClient, instigator: Instigator) -> bool:
    """Switch it off; whether it is still running (it is not, unless Dagster refused)."""
    if instigator.kind == "sensor":
        data = client.query(
            f"mutation($id: String!) {{ stopSensor(id: $id) {{ {ERROR_FIELDS} "
            "... on StopSensorMutationResult { instigationState { status } } } }",
            {"id": instigator.state_id},
        )
        return expect(data["stopSensor"], "StopSensorMutationResult")["instigationState"]["status"] == "RUNNING"
    data = client.query(
        f"mutation($id: String!) {{ stopRunningSchedule(id: $id) {{ {ERROR_FIELDS} "
        "... on ScheduleStateResult { scheduleState { status } } } }",
        {"id": instigator.state_id},
    )
    return expect(data["stopRunningSchedule"], "ScheduleStateResult")["scheduleState"]["status"] == "RUNNING"


def _selector(instigator: Instigator) -> dict[str, str]:
    return {"repositoryName": instigator.repository, "repositoryLocationName": instigator.location}


def _instigator(
    client: DagsterClient, kind: InstigatorKind, value: Mapping[str, Any], state: Mapping[str, Any], location: str, repository: str
) -> Instigator:
    ticks = state.get("ticks") or []
    tick = ticks[0] if ticks else None
    return Instigator(
        kind=kind,
        name=value["name"],
        location=location,
        repository=repository,
        state_id=state["id"],
        running=state["status"] == "RUNNING",
        description=value.get("description"),
        last_tick=Tick(
            status=tick["status"],
            at=timestamp(tick["timestamp"]),
            skip_reason=tick.get("skipReason"),
            error=(tick.get("error") or {}).get("message"),
        )
        if tick
        else None,
        cron=value.get("cronSchedule"),
        timezone=value.get("executionTimezone"),
        url=client.location_url(location, repository, f"/{kind}s/{value['name']}"),
    )
