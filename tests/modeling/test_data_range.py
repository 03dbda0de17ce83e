"""Data range: hot data older than N days is deleted from the warehouse, by the run-operation
and by the hook after a build; dimensions stay, and expired Parquet is not loaded again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.modeling.dbt_runner import dbt
from tests.modeling.ods_files import write_ods_events
from tests.modeling.test_views_expected import APP, RUNS, build, query

DATED_TABLES = {
    "ods_events": "event_date",
    "clickstream_session_view": "session_date",
    "clickstream_path_view": "event_date",
    "clickstream_device_view": "event_date",
    "int_user_days": "activity_date",
    "clickstream_user_active_quarter_hours": "event_date",
    "clickstream_event_counts_quarter_hourly": "event_date",
    "clickstream_event_attribute_counts_quarter_hourly": "event_date",
    "clickstream_path_nodes": "last_event_date",
    "clickstream_page_views_quarter_hourly": "event_date",
}


@pytest.fixture
def warehouse(tmp_path) -> Path:
    for run in RUNS:
        write_ods_events(tmp_path / "ods", APP, run)
    build(tmp_path / "ods", tmp_path)
    return tmp_path / "warehouse.duckdb"


def counts(database: Path) -> dict[str, int]:
    return {table: query(database, f"select count(*) from {{schema}}.{table}")[0][0] for table in [*DATED_TABLES, "dim_users"]}


def test_run_operation_deletes_rows_before_the_range(warehouse):
    # 12 Dec minus 5 days: everything before 7 Dec goes, u1's visit of 12 Dec stays.
    dbt(
        ["run-operation", "delete_expired_data", "--args", '{data_range_days: 5, reference_date: "2023-12-12"}'],
        warehouse.parent,
        {"app_id": APP, "ods_root": str(warehouse.parent / "ods")},
        env={"CLICKSTREAM_DUCKDB_PATH": str(warehouse)},
    )
    assert counts(warehouse) == {
        "ods_events": 2, "clickstream_session_view": 1, "clickstream_path_view": 2,
        "clickstream_device_view": 1, "int_user_days": 1, "clickstream_user_active_quarter_hours": 1, "dim_users": 4,
        # u1's two events of 12 Dec in one quarter hour; their three session attributes each and one page title.
        "clickstream_event_counts_quarter_hourly": 2, "clickstream_event_attribute_counts_quarter_hourly": 7,
        # s3 of 12 Dec: its two events and its one page.
        "clickstream_path_nodes": 3,
        # s3's one page view.
        "clickstream_page_views_quarter_hourly": 1,
    }  # fmt: skip
    assert query(warehouse, "select session_id from {schema}.clickstream_session_view") == [("s3",)]


def test_build_hook_deletes_and_does_not_reload_expired_parquet(warehouse):
    # The fixture's data is from 2023: a one-day range (from today) expires all of it.
    build(warehouse.parent / "ods", warehouse.parent, data_range_days=1)
    assert counts(warehouse) == {table: 0 for table in DATED_TABLES} | {"dim_users": 4}
    # With the dated tables empty, the next build would read every partition again; the range
    # keeps it from loading what the hook would delete.
    build(warehouse.parent / "ods", warehouse.parent, data_range_days=1)
    assert counts(warehouse)["ods_events"] == 0


def test_without_a_range_nothing_is_deleted(warehouse):
    before = counts(warehouse)
    build(warehouse.parent / "ods", warehouse.parent)
    assert counts(warehouse) == before and before["ods_events"] == 29
