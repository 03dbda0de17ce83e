"""Runs that select part of the project (Dagster re-materializing one asset) stay correct."""

from __future__ import annotations

from tests.modeling.dbt_runner import dbt
from tests.modeling.ods_files import write_ods_events
from tests.modeling.test_views_expected import APP, EXPECTED, RUNS, build, query


def test_rerunning_ods_events_alone_appends_nothing_twice(tmp_path):
    for run in RUNS[:2]:
        write_ods_events(tmp_path / "ods", APP, run)
        build(tmp_path / "ods", tmp_path)
    before = query(tmp_path / "warehouse.duckdb", "select count(*), count(distinct event_id) from {schema}.ods_events")[0]
    dbt(["run", "--select", "ods_events"], tmp_path, {"app_id": APP, "ods_root": str(tmp_path / "ods")},
        env={"CLICKSTREAM_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb")})
    after = query(tmp_path / "warehouse.duckdb", "select count(*), count(distinct event_id) from {schema}.ods_events")[0]
    assert before == after == (16, 16)


def test_a_build_without_new_files_changes_nothing(tmp_path):
    for run in RUNS:
        write_ods_events(tmp_path / "ods", APP, run)
    build(tmp_path / "ods", tmp_path)
    build(tmp_path / "ods", tmp_path)
    for sql, expected in EXPECTED.values():
        assert query(tmp_path / "warehouse.duckdb", sql) == expected
