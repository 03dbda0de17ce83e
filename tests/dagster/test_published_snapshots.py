"""Dashboards keep answering while dbt builds write DuckDB: reader processes open the published
snapshot continuously while real ``build_warehouse`` runs (the job's own definitions, dbt on
DuckDB) add data, and every read succeeds and shows one finished build, never part of one."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime

import dagster as dg
import pytest

from clickstream_dagster.definitions import defs
from clickstream_dagster.modeling.published import PUBLISHED_WAREHOUSE_KEY, VERSION_METADATA
from clickstream_dagster.names import BUILD_WAREHOUSE_JOB, MICRO_BATCH_JOB
from clickstream_project.config import CONFIG_ENV_VAR, save_config
from clickstream_project.published_warehouse import current
from tests.conftest import make_config
from tests.dagster.snapshot_readers import read_continuously
from tests.dagster.test_warehouses import production_data, use_config
from tests.modeling.ods_files import HOUR_MS, ods_event, write_ods_events

APP = "shop_web"
READERS = 3
BUILDS = 4  # the first publishes before the readers start; they read during the other three
USERS_PER_BUILD = 3
# Each user of a build: one session of a session start and a page view.
EVENTS_PER_USER = 2
# A reader that saw nothing new this long after a publish is broken, not slow.
READER_WAIT_SECONDS = 120


def new_users(build: int, first_hour_ms: int) -> list[dict]:
    """The events of one build: new users, each with one session, in an hour of their own (a
    file of its own: the job replaces a day's file of the same arrival hour)."""
    at = first_hour_ms + build * HOUR_MS
    events = []
    for user in range(USERS_PER_BUILD):
        name, session = f"u{build}-{user}", f"s{build}-{user}"
        events.append(ods_event(f"{name}-start", name, at + user, "_session_start", app_id=APP, session=session))
        events.append(ods_event(f"{name}-view", name, at + user + 1000, "_page_view", app_id=APP, session=session))
    return events


def counts_after(builds: int) -> tuple[int, int, int, int]:
    """(ods_events rows, event view rows, sessions, users) once ``builds`` builds are modeled."""
    users = builds * USERS_PER_BUILD
    return users * EVENTS_PER_USER, users * EVENTS_PER_USER, users, users


def wait_until_every_reader_saw(version: str, seen: list, readers: list) -> None:
    deadline = time.monotonic() + READER_WAIT_SECONDS
    while any(value.value.decode() != version for value in seen):
        assert all(reader.is_alive() for reader in readers), "a reader process died"
        assert time.monotonic() < deadline, f"readers did not see {version}: {[value.value for value in seen]}"
        time.sleep(0.05)


def test_every_warehouse_build_ends_by_publishing_on_duckdb_only(tmp_path, monkeypatch):
    save_config(make_config(tmp_path), tmp_path / "clickstream.yaml")
    monkeypatch.setenv(CONFIG_ENV_VAR, str(tmp_path / "clickstream.yaml"))
    definitions = defs()
    for job in (BUILD_WAREHOUSE_JOB, MICRO_BATCH_JOB, "dim_users_job", "data_cleanup_job"):
        assert PUBLISHED_WAREHOUSE_KEY in definitions.resolve_job_def(job).asset_layer.selected_asset_keys, job
    # Athena and Redshift serve readers during builds themselves.
    use_config(tmp_path, monkeypatch, production_data(engine="athena"))
    assert PUBLISHED_WAREHOUSE_KEY not in defs().resolve_asset_graph().get_all_asset_keys()


@pytest.mark.e2e
def test_readers_see_only_finished_builds_while_builds_run(tmp_path, monkeypatch):
    config = make_config(tmp_path, apps=[{"app_id": APP, "name": "Shop Web", "platforms": ["Web"]}])
    path = tmp_path / "clickstream.yaml"
    save_config(config, path)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    # The warehouse resource points dbt at the file through the environment; restored after.
    monkeypatch.setenv("CLICKSTREAM_DUCKDB_PATH", str(config.duckdb_path))
    job = defs().resolve_job_def(BUILD_WAREHOUSE_JOB)
    # Recent hours: the build's data-range cleanup deletes events older than a year.
    first_hour_ms = (int(datetime.now(UTC).timestamp() * 1000) // HOUR_MS - 24) * HOUR_MS
    expected: dict[str, tuple[int, int, int, int]] = {}

    def build(number: int) -> str:
        write_ods_events(config.ods_root, APP, new_users(number, first_hour_ms))
        result = job.execute_in_process(instance=instance)
        assert result.success
        [published] = [
            event.materialization for event in result.get_asset_materialization_events() if event.asset_key == PUBLISHED_WAREHOUSE_KEY
        ]
        version = published.metadata[VERSION_METADATA].value
        expected[version] = counts_after(number)
        return version

    spawn = multiprocessing.get_context("spawn")  # no fork of a process running Dagster and DuckDB
    stop, building, results = spawn.Event(), spawn.Event(), spawn.Queue()
    seen = [spawn.Array("c", 64) for _ in range(READERS)]
    with dg.instance_for_test() as instance:
        versions = [build(1)]
        readers = [
            spawn.Process(target=read_continuously, args=(str(config.duckdb_path), APP, stop, building, seen[index], results))
            for index in range(READERS)
        ]
        for reader in readers:
            reader.start()
        try:
            wait_until_every_reader_saw(versions[-1], seen, readers)
            for number in range(2, BUILDS + 1):
                building.set()
                versions.append(build(number))
                building.clear()
                wait_until_every_reader_saw(versions[-1], seen, readers)
        finally:
            stop.set()
            outcomes = [results.get(timeout=READER_WAIT_SECONDS) for _ in readers]
            for reader in readers:
                reader.join()

    assert [errors for _, errors in outcomes] == [[]] * READERS
    assert versions == sorted(versions) and len(set(versions)) == BUILDS
    assert current(config.duckdb_path).version == versions[-1]
    observed = {key: count for observations, _ in outcomes for key, count in observations.items()}
    # Every read showed exactly the build its snapshot was published by.
    assert {key[:-1] for key in observed} == {(version, *expected[version]) for version in versions}
    during_builds = sum(count for key, count in observed.items() if key[-1])
    assert during_builds > 0, "no read ran while a build held the warehouse"
