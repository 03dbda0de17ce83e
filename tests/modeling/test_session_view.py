"""dbt on DuckDB over Parquet written by the real Spark job, compared with rows worked out by hand."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from plugins.job import run
from tests.conftest import REPO_ROOT
from tests.processing.conftest import event, raw_record, write_raw_hour

pytestmark = pytest.mark.spark
APP = "shop_web"
# 2023-11-14 23:59:40 UTC: the second session starts 20 s before midnight.
MIDNIGHT = 1_700_006_400_000
T0 = MIDNIGHT - 3 * 3_600_000  # 21:00:00


def session_event(event_id, user, session, ts, name, start, duration, **attributes):
    attrs = {"_session_id": session, "_session_start_timestamp": start, "_session_duration": duration, **attributes}
    return {**event(event_id, app_id=APP, timestamp=ts, name=name, attributes=attrs), "unique_id": user, "platform": "Web"}


EVENTS = [
    # u1, session s1 (21:00): two views, 8 s long, 4 s of engagement → engaged by views.
    session_event("e1", "u1", "s1", T0, "_session_start", T0, 0),
    session_event("e2", "u1", "s1", T0 + 1_000, "_page_view", T0, 1_000, _page_title="Home"),
    session_event("e3", "u1", "s1", T0 + 5_000, "_page_view", T0, 5_000, _page_title="Cart"),
    session_event("e4", "u1", "s1", T0 + 8_000, "_user_engagement", T0, 8_000, _engagement_time_msec=4_000),
    # u1, session s2 starts 20 s before midnight and ends after it: one view, 30 s → engaged by duration.
    session_event("e5", "u1", "s2", MIDNIGHT - 20_000, "_session_start", MIDNIGHT - 20_000, 0),
    session_event("e6", "u1", "s2", MIDNIGHT - 15_000, "_page_view", MIDNIGHT - 20_000, 5_000, _page_title="Home"),
    session_event("e7", "u1", "s2", MIDNIGHT + 10_000, "add_to_cart", MIDNIGHT - 20_000, 30_000),
    # u2, session s3: one view, 2 s → bounced.
    session_event("e8", "u2", "s3", T0, "_page_view", T0, 2_000, _page_title="Landing"),
    # No _session_id: not part of any session.
    {**event("e9", app_id=APP, timestamp=T0), "unique_id": "u3"},
]

EXPECTED_SESSIONS = [
    # session_id, user, duration, views, engaged, bounced, start, engagement, date, hour, entry, exit
    ("s1", "u1", 8_000, 2, 1, 0, T0, 4_000, "2023-11-14", "2023-11-14 21:00:00", "Home", "Cart"),
    ("s2", "u1", 30_000, 1, 1, 0, MIDNIGHT - 20_000, 0, "2023-11-14", "2023-11-14 23:00:00", "Home", "Home"),
    ("s3", "u2", 2_000, 1, 0, 1, T0, 0, "2023-11-14", "2023-11-14 21:00:00", "Landing", "Landing"),
]


def dbt_build(project_dir: Path, ods_root: Path, warehouse: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CLICKSTREAM_DUCKDB_PATH": str(warehouse)}
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.run(
        [
            str(dbt),
            "build",
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir),
            "--target-path",
            str(warehouse.parent / "target"),
            "--log-path",
            str(warehouse.parent / "logs"),
            "--vars",
            json.dumps({"app_id": APP, "ods_root": str(ods_root)}),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def warehouse(spark, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("modeling")
    lake, ods = root / "lake", root / "ods"
    # e3 arrives twice (an SDK retry one hour later): the warehouse keeps it once.
    # Arrival after the last event (00:00:10): nothing is "from the future".
    arrival = MIDNIGHT + 30 * 60_000
    write_raw_hour(lake, "2023111500", [raw_record(json.dumps(EVENTS), app_id=APP, ingest_time=arrival)])
    write_raw_hour(lake, "2023111501", [raw_record(json.dumps([EVENTS[2]]), app_id=APP, rid="retry", ingest_time=arrival + 3_600_000)])
    hours = [datetime(2023, 11, 15, 0, tzinfo=UTC), datetime(2023, 11, 15, 1, tzinfo=UTC)]
    for hour in hours:  # one run per hour, as the sensor would do it
        run(spark, raw_root=lake, ods_root=ods, project_id="proj", app_ids=[APP], hours=[hour])
    database = root / "warehouse.duckdb"
    result = dbt_build(REPO_ROOT / "dbt_project", ods, database)
    assert result.returncode == 0, result.stdout[-4000:]
    return database


def test_session_view_matches_hand_computed_rows(warehouse: Path):
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            f"""select session_id, user_pseudo_id, session_duration, session_views, engaged_session,
                       bounced_session, session_start_timestamp, session_engagement_time,
                       strftime(session_date, '%Y-%m-%d'), strftime(session_date_hour, '%Y-%m-%d %H:%M:%S'),
                       entry_view, exit_view
                from "{APP}".clickstream_session_view order by session_id"""
        ).fetchall()
    assert rows == EXPECTED_SESSIONS


def test_ods_events_holds_each_event_once(warehouse: Path):
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        ids = [row[0] for row in connection.execute(f'select event_id from "{APP}".ods_events order by event_id').fetchall()]
        columns = [row[0] for row in connection.execute(f'describe "{APP}".ods_events').fetchall()]
    assert ids == [f"e{i}" for i in range(1, 10)]
    assert len(columns) == 25 and columns[0] == "app_info" and columns[-1] == "user_pseudo_id"
