"""The event catalogue models (clickstream_catalogue_*) on DuckDB, compared with rows worked out
by hand.

Three users in March 2024; the catalogue's 30 days end at the newest event date, 31 Mar, so
they start on 2 Mar and the events of 1 Mar count only for first/last seen:

- run 1: u1 and u2 view Home on 1 Mar (u1 with user attribute plan=free), from web SDK 0.11.0;
  u1 adds sku1 (qty 2) to the cart on 10 Mar, from web SDK 0.12.1.
- run 2: u3 (Android, SDK 0.12.4) adds sku2 (qty 1.5, a double) on 10 Mar, a day already built
  (it is rebuilt whole), with user attributes plan=pro and age=30; u2 views Pricing on 31 Mar
  with no SDK sent.
- run 3: a late event of 30 Mar (u1 adds sku1, qty 3, from the upgraded web SDK 0.12.5), a
  re-delivery of u2's Pricing view (counts once), and u3's purchase on 31 Mar (plan=pro) from a
  custom SDK that sends its version as a number.
- run 4: a re-run with nothing new.

The builds keep one value per key and day (catalogue_top_values_per_day: 1), so the daily cap
shows: on 10 Mar sku1 and sku2 tie and only sku1 (first by value) is kept.
The incremental runs and one full build over the same Parquet must both give these rows.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.modeling.dbt_runner import dbt
from tests.modeling.ods_files import ods_event, write_ods_events
from tests.modeling.test_views_expected import APP, at, query

VARIABLES = {"catalogue_top_values_per_day": 1}
LATE = "2024-03-31 09:00:00"
SDK = "aws-solution-clickstream-sdk"


def sdk(version, name=SDK):
    return {"sdk_name": name, "sdk_version": version}


def event(event_id, user, time, name, platform="Web", ingest=None, **fields):
    return ods_event(event_id, user, at(time), name, app_id=APP, platform=platform, ingest=at(ingest) if ingest else None, **fields)


RUNS = [
    [
        event(
            "a1",
            "u1",
            "2024-03-01 10:00:00",
            "_page_view",
            params={"_page_title": "Home"},
            user_properties={"plan": "free"},
            dimensions=sdk("0.11.0"),
        ),
        event("a2", "u2", "2024-03-01 11:00:00", "_page_view", params={"_page_title": "Home"}, dimensions=sdk("0.11.0")),
        event("a3", "u1", "2024-03-10 09:00:00", "add_to_cart", params={"item": "sku1", "qty": 2}, dimensions=sdk("0.12.1")),
    ],
    [
        event(
            "b1",
            "u3",
            "2024-03-10 12:00:00",
            "add_to_cart",
            platform="Android",
            params={"item": "sku2", "qty": 1.5},
            user_properties={"plan": "pro", "age": 30},
            dimensions=sdk("0.12.4"),
        ),
        event("b2", "u2", "2024-03-31 08:00:00", "_page_view", params={"_page_title": "Pricing"}),
    ],
    [
        event("c1", "u1", "2024-03-30 23:00:00", "add_to_cart", ingest=LATE, params={"item": "sku1", "qty": 3}, dimensions=sdk("0.12.5")),
        event("b2", "u2", "2024-03-31 08:00:00", "_page_view", ingest=LATE, params={"_page_title": "Pricing"}),
        event(
            "c2",
            "u3",
            "2024-03-31 10:00:00",
            "purchase",
            platform="Android",
            params={"value": 9.99},
            user_properties={"plan": "pro"},
            dimensions=sdk(2, name="custom-sdk"),
        ),
    ],
    [],
]

D = date.fromisoformat
MAR31 = D("2024-03-31")
ADD_TO_CART_SDKS = f"{SDK} 0.12.1, {SDK} 0.12.4, {SDK} 0.12.5"
EXPECTED = {
    # _page_view: SDK 0.11.0 sent it on 1 Mar only, outside the 30 days; the 31 Mar view has none.
    "clickstream_catalogue_events": (
        "select * from {schema}.clickstream_catalogue_events order by event_name",
        [
            ("_page_view", D("2024-03-01"), MAR31, 1, 1, "Web", None, MAR31),
            ("add_to_cart", D("2024-03-10"), D("2024-03-30"), 3, 2, "Android, Web", ADD_TO_CART_SDKS, MAR31),
            ("purchase", MAR31, MAR31, 1, 1, "Android", "custom-sdk 2", MAR31),
        ],
    ),
    # plan: u1's plan=free of 1 Mar is outside the 30 days; u3 set it on 10 and 31 Mar.
    "clickstream_catalogue_properties": (
        "select * from {schema}.clickstream_catalogue_properties order by kind, event_name, property_key",
        [
            ("event_parameter", "_page_view", "_page_title", "string", D("2024-03-01"), MAR31, 1, None, "Web"),
            ("event_parameter", "add_to_cart", "item", "string", D("2024-03-10"), D("2024-03-30"), 3, None, "Android, Web"),
            ("event_parameter", "add_to_cart", "qty", "double, int", D("2024-03-10"), D("2024-03-30"), 3, None, "Android, Web"),
            ("event_parameter", "purchase", "value", "double", MAR31, MAR31, 1, None, "Android"),
            ("user_attribute", "", "age", "int", D("2024-03-10"), D("2024-03-10"), 1, 1, "Android"),
            ("user_attribute", "", "plan", "string", D("2024-03-01"), MAR31, 2, 1, "Android, Web"),
        ],
    ),
    # One value per key and day: sku2 (10 Mar, tied with sku1) and qty 2 (tied with 1.5) are not kept.
    "clickstream_catalogue_top_values": (
        "select * from {schema}.clickstream_catalogue_top_values order by kind, event_name, property_key, value_rank",
        [
            ("event_parameter", "_page_view", "_page_title", "Pricing", 1, 1),
            ("event_parameter", "add_to_cart", "item", "sku1", 2, 1),
            ("event_parameter", "add_to_cart", "qty", "1.5", 1, 1),
            ("event_parameter", "add_to_cart", "qty", "3", 1, 2),
            ("event_parameter", "purchase", "value", "9.99", 1, 1),
            ("user_attribute", "", "age", "30", 1, 1),
            ("user_attribute", "", "plan", "pro", 2, 1),
        ],
    ),
    "clickstream_catalogue_daily": (
        """select event_date, event_name, platform, sdk_name, sdk_version, events, distinct_users
           from {schema}.clickstream_catalogue_daily where kind = 'event' order by 1, 2, 3""",
        [
            (D("2024-03-01"), "_page_view", "Web", SDK, "0.11.0", 2, 2),
            (D("2024-03-10"), "add_to_cart", "Android", SDK, "0.12.4", 1, 1),
            (D("2024-03-10"), "add_to_cart", "Web", SDK, "0.12.1", 1, 1),
            (D("2024-03-30"), "add_to_cart", "Web", SDK, "0.12.5", 1, 1),
            (MAR31, "_page_view", "Web", "", "", 1, 1),
            (MAR31, "purchase", "Android", "custom-sdk", "2", 1, 1),
        ],
    ),
    # Parameter and attribute rows are not split by SDK.
    "clickstream_catalogue_daily_properties": (
        """select distinct sdk_name, sdk_version from {schema}.clickstream_catalogue_daily where kind <> 'event'""",
        [("", "")],
    ),
    # The late event of 30 Mar is u1's latest add_to_cart; a late event never moves a last day back.
    "clickstream_catalogue_users": (
        "select * from {schema}.clickstream_catalogue_users order by 1, 2, 3, 4",
        [
            ("event", "_page_view", "", "u1", D("2024-03-01")),
            ("event", "_page_view", "", "u2", MAR31),
            ("event", "add_to_cart", "", "u1", D("2024-03-30")),
            ("event", "add_to_cart", "", "u3", D("2024-03-10")),
            ("event", "purchase", "", "u3", MAR31),
            ("user_attribute", "", "age", "u3", D("2024-03-10")),
            ("user_attribute", "", "plan", "u1", D("2024-03-01")),
            ("user_attribute", "", "plan", "u3", MAR31),
        ],
    ),
}


def build(ods_root: Path, work_dir: Path) -> None:
    dbt(
        ["build", "--select", "+clickstream_catalogue_events+", "+clickstream_catalogue_properties+", "+clickstream_catalogue_top_values+"],
        work_dir,
        {"app_id": APP, "ods_root": str(ods_root), **VARIABLES},
        env={"CLICKSTREAM_DUCKDB_PATH": str(work_dir / "warehouse.duckdb")},
    )


@pytest.fixture(scope="module")
def incremental_warehouse(tmp_path_factory) -> Path:
    """One build per arrival batch; the last batch is empty (a re-run)."""
    work_dir = tmp_path_factory.mktemp("catalogue-incremental")
    for run in RUNS:
        if run:
            write_ods_events(work_dir / "ods", APP, run)
        build(work_dir / "ods", work_dir)
    return work_dir / "warehouse.duckdb"


@pytest.fixture(scope="module")
def full_warehouse(incremental_warehouse, tmp_path_factory) -> Path:
    work_dir = tmp_path_factory.mktemp("catalogue-full")
    shutil.copytree(incremental_warehouse.parent / "ods", work_dir / "ods")
    build(work_dir / "ods", work_dir)
    return work_dir / "warehouse.duckdb"


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_incremental_runs_give_the_expected_rows(incremental_warehouse, model):
    sql, expected = EXPECTED[model]
    assert query(incremental_warehouse, sql) == expected


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_full_build_gives_the_expected_rows(full_warehouse, model):
    sql, expected = EXPECTED[model]
    assert query(full_warehouse, sql) == expected


def test_the_data_range_expires_the_catalogue(incremental_warehouse, tmp_path):
    # 31 Mar minus 5 days: the days before 26 Mar go, and users last seen before then.
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(incremental_warehouse, database)
    dbt(
        ["run-operation", "delete_expired_data", "--args", '{data_range_days: 5, reference_date: "2024-03-31"}'],
        tmp_path,
        {"app_id": APP, "ods_root": str(incremental_warehouse.parent / "ods")},
        env={"CLICKSTREAM_DUCKDB_PATH": str(database)},
    )
    for table in ("clickstream_catalogue_daily", "clickstream_catalogue_values_daily"):
        assert query(database, f"select min(event_date) from {{schema}}.{table}") == [(D("2024-03-30"),)]
    assert query(database, "select event_name, property_key, user_pseudo_id from {schema}.clickstream_catalogue_users order by 1, 2") == [
        ("", "plan", "u3"),
        ("_page_view", "", "u2"),
        ("add_to_cart", "", "u1"),
        ("purchase", "", "u3"),
    ]
