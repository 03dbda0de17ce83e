"""Runs that select part of the project (Dagster re-materializing one asset) stay correct."""

from __future__ import annotations

from datetime import date

from tests.modeling.dbt_runner import dbt
from tests.modeling.ods_files import write_ods_events
from tests.modeling.test_views_expected import APP, EXPECTED, RUNS, build, query


def test_rerunning_ods_events_alone_appends_nothing_twice(tmp_path):
    for run in RUNS[:2]:
        write_ods_events(tmp_path / "ods", APP, run)
        build(tmp_path / "ods", tmp_path)
    before = query(tmp_path / "warehouse.duckdb", "select count(*), count(distinct event_id) from {schema}.ods_events")[0]
    dbt(
        ["run", "--select", "ods_events"],
        tmp_path,
        {"app_id": APP, "ods_root": str(tmp_path / "ods")},
        env={"CLICKSTREAM_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb")},
    )
    after = query(tmp_path / "warehouse.duckdb", "select count(*), count(distinct event_id) from {schema}.ods_events")[0]
    assert before == after == (16, 16)


def test_a_build_without_new_files_changes_nothing(tmp_path):
    for run in RUNS:
        write_ods_events(tmp_path / "ods", APP, run)
    build(tmp_path / "ods", tmp_path)
    build(tmp_path / "ods", tmp_path)
    for sql, expected in EXPECTED.values():
        assert query(tmp_path / "warehouse.duckdb", sql) == expected


def test_a_late_event_moves_a_users_first_date_back(tmp_path):
    """Retention cohorts: ux starts on 5 Dec; a later run brings an event of 4 Dec. The 5 Dec
    cohort must lose ux and a 4 Dec cohort appear, as a full build computes it."""
    from tests.modeling.ods_files import ods_event
    from tests.modeling.test_views_expected import at

    def event(event_id, time, ingest):
        return ods_event(event_id, "ux", at(time), "_session_start", app_id=APP, session=event_id, ingest=at(ingest))

    batches = [
        [event("x1", "2023-12-05 10:00:00", "2023-12-05 10:01:00"), event("x2", "2023-12-06 10:00:00", "2023-12-06 10:01:00")],
        [event("x0", "2023-12-04 23:00:00", "2023-12-06 12:00:00")],
    ]
    sql = "select first_date, day_diff, returned_user_count, total_users from {schema}.clickstream_retention_view order by 1, 2"
    for batch in batches:
        write_ods_events(tmp_path / "ods", APP, batch)
        build(tmp_path / "ods", tmp_path)
    full_dir = tmp_path / "full"
    build(tmp_path / "ods", full_dir)
    expected = [(date(2023, 12, 4), 0, 1, 1), (date(2023, 12, 4), 1, 1, 1), (date(2023, 12, 4), 2, 1, 1)]
    assert query(tmp_path / "warehouse.duckdb", sql) == expected
    assert query(full_dir / "warehouse.duckdb", sql) == expected
