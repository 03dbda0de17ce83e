"""The Dagster graph, written out and compared with the reviewed copy in
``snapshots/definitions_graph.txt``: asset keys, groups, kinds, partitions, dependencies and
checks; what each job selects; sensors, schedules and resources. A change to the map (a model
renamed, a check lost, a job selecting more) shows up as a diff in review.

After an intended change, regenerate the file and commit it with the change:

    CLICKSTREAM_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/dagster/test_graph_snapshot.py

The configuration is fixed (two apps, every other setting at its default). Every app gets the
same models, so app keys are written once, with ``{app}`` for the app id; the test checks that
both apps' parts of the graph are indeed the same. Partition start dates, thresholds and paths
are left out: they are configuration, not the map.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from clickstream_dagster.definitions import defs
from clickstream_project.config import CONFIG_ENV_VAR, save_config
from tests.conftest import make_config

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions_graph.txt"
UPDATE_ENV_VAR = "CLICKSTREAM_UPDATE_SNAPSHOTS"
APP_IDS = ("shop_web", "shop_ios")
APP = "{app}"


def generic(key: dg.AssetKey) -> str:
    path = [APP if index == 0 and part in APP_IDS else part for index, part in enumerate(key.path)]
    return "/".join(path)


def generic_check(key: dg.AssetCheckKey) -> str:
    return f"{generic(key.asset_key)}:{key.name}"


def merge(into: dict[str, list[str]], name: str, lines: list[str]) -> None:
    """Adds one asset's or job's lines; a second app's must equal the first's."""
    assert into.setdefault(name, lines) == lines, f"{name}: the apps' graphs differ: {into[name]} != {lines}"


def fields(**values: object) -> str:
    return " | ".join(f"{name} {value}" for name, value in values.items() if value)


def describe_assets(graph) -> list[str]:
    assets: dict[str, list[str]] = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        group = f"app_{APP}" if key.path[0] in APP_IDS else node.group_name
        automation = (
            node.automation_condition.get_label() or type(node.automation_condition).__name__ if node.automation_condition else None
        )
        summary = fields(
            group=group,
            kinds=", ".join(sorted(node.kinds)),
            partitions=type(node.partitions_def).__name__ if node.partitions_def else None,
            pools=", ".join(sorted(node.pools)),
            automation=automation,
        )
        lines = [f"  {summary}"]
        # A parent in every app (the published snapshot's) is listed once.
        lines += [f"  dep {parent}" for parent in sorted({generic(parent) for parent in node.parent_keys})]
        lines += [f"  check {check.name}" for check in sorted(node.check_keys, key=lambda check: check.name)]
        merge(assets, generic(key), lines)
    return [line for name in sorted(assets) for line in [f"asset {name}", *assets[name]]]


def describe_jobs(definitions: dg.Definitions, graph) -> list[str]:
    """Each job's assets, and its checks as the difference from its assets' checks (a job
    usually runs the checks of what it materializes)."""
    lines = []
    for job in sorted(definitions.resolve_all_job_defs(), key=lambda job: job.name):
        if job.name.startswith("__"):
            continue
        layer = job.asset_layer
        selected = set(layer.selected_asset_keys)
        in_job = {check for data in layer.data for check in data.assets_def.check_keys}
        of_assets = {check for check in graph.asset_check_keys if check.asset_key in selected}
        tags = ", ".join(f"{name}={value}" for name, value in sorted(job.tags.items()))
        lines.append(f"job {job.name}")
        lines.append(f"  {fields(executor=job.executor_def.name, tags=tags)}")
        lines += [f"  asset {name}" for name in sorted({generic(key) for key in selected})]
        lines += [f"  without check {name}" for name in sorted({generic_check(check) for check in of_assets - in_job})]
        lines += [f"  with check {name}" for name in sorted({generic_check(check) for check in in_job - of_assets})]
    return lines


def describe_graph(definitions: dg.Definitions) -> str:
    graph = definitions.resolve_asset_graph()
    lines = [
        "# The Dagster graph: regenerate with CLICKSTREAM_UPDATE_SNAPSHOTS=1 (tests/dagster/test_graph_snapshot.py).",
        f"# {APP} stands for each app: {', '.join(APP_IDS)}.",
        f"executor {definitions.executor.name}",
        f"resources {', '.join(sorted(definitions.resources))}",
        *describe_assets(graph),
        *describe_jobs(definitions, graph),
    ]
    for sensor in sorted(definitions.sensors, key=lambda sensor: sensor.name):
        jobs = ", ".join(sorted(target.job_name for target in sensor.targets))
        lines.append(f"sensor {sensor.name}")
        lines.append(f"  {fields(type=type(sensor).__name__, jobs=jobs, default=sensor.default_status.value)}")
    for schedule in sorted(definitions.schedules, key=lambda schedule: schedule.name):
        lines.append(f"schedule {schedule.name}")
        summary = fields(cron=schedule.cron_schedule, timezone=schedule.execution_timezone, job=schedule.job_name)
        lines.append(f"  {summary} | default {schedule.default_status.value}")
    return "\n".join(lines) + "\n"


def test_the_graph_matches_its_reviewed_snapshot(tmp_path, monkeypatch):
    path = tmp_path / "clickstream.yaml"
    apps = [{"app_id": app_id, "name": app_id, "platforms": ["Web"]} for app_id in APP_IDS]
    save_config(make_config(tmp_path, apps=apps), path)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    text = describe_graph(defs())
    if os.environ.get(UPDATE_ENV_VAR):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text)
    assert SNAPSHOT.exists(), f"no snapshot yet: run with {UPDATE_ENV_VAR}=1"
    assert text == SNAPSHOT.read_text(), f"the Dagster graph changed; if intended, regenerate with {UPDATE_ENV_VAR}=1 and commit the diff"
