"""The dashboards benchmark works, on a tiny dataset (its figures are not checked: timing is the
benchmark's business, not a test's): the generator's events have what the reports need, and
bench/dashboards/run.py builds, measures every registered report and keeps what it measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import duckdb
import pytest

from bench.synthetic_ods import create_events_table, generate_hours
from clickstream_console.studio.registry import REPORTS
from clickstream_tools.generator.profiles import SDK_NAME, SDK_VERSIONS
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e
START = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def events():
    connection = duckdb.connect()
    create_events_table(connection, "events")
    added = generate_hours(connection, "events", 0, 48, 200, app_id="tiny", start=START)
    added += generate_hours(connection, "events", 48, 48, 200, app_id="tiny", start=START)
    yield connection, added
    connection.close()


def one(connection, sql: str):
    [(value,)] = connection.execute(sql).fetchall()
    return value


def test_the_generator_writes_about_the_events_asked_for(events):
    connection, added = events

    assert 0.8 * 96 * 200 <= added <= 1.2 * 96 * 200
    assert one(connection, "select count(*) from events") == added
    assert one(connection, "select count(distinct event_date) from events") == 4


def test_users_have_sessions_views_and_come_back(events):
    connection, _ = events

    assert one(connection, "select count(distinct platform) from events") == 3
    assert one(connection, "select count(distinct geo.country) from events") > 5
    assert one(connection, "select count(distinct traffic_source.source) from events") > 3
    assert one(connection, "select count(distinct device.mobile_model_name) from events") > 3
    # The SDK of each platform, as the catalogue lists it.
    sdks = "select distinct platform, event_dimensions[1].value.string_value, event_dimensions[2].value.string_value from events order by 1"
    assert connection.execute(sdks).fetchall() == sorted((platform, SDK_NAME, version) for platform, version in SDK_VERSIONS.items())
    titles = "select count(distinct p.value.string_value) from (select unnest(event_params) as p from events where event_name = '{}') where p.key = '{}'"
    assert one(connection, titles.format("_page_view", "_page_title")) > 5
    assert one(connection, titles.format("_screen_view", "_screen_name")) > 5
    # Returning users: some are active on several days.
    assert one(connection, "select count(*) from (select user_pseudo_id from events group by 1 having count(distinct event_date) > 1)") > 10
    # One first visit per user (an SDK retry delivers some twice, with the same event_id), across the two calls.
    first_visits = (
        "select count(distinct event_id), count(distinct user_pseudo_id) from events where event_name in ('_first_visit', '_first_open')"
    )
    users = one(connection, "select count(distinct user_pseudo_id) from events")
    assert connection.execute(first_visits).fetchall() == [(users, users)]


def test_the_benchmark_measures_every_report_and_reuses_its_build(tmp_path):
    data_dir = tmp_path / "dashboards"
    command = [sys.executable, str(REPO_ROOT / "bench" / "dashboards" / "run.py"), "--events", "3000", "--days", "3"]
    command += ["--data-dir", str(data_dir), "--repetitions", "1", "--cold-repetitions", "1", "--page-repetitions", "1"]
    env = {**os.environ, "PATH": f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}

    first = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    again = subprocess.run([*command, "--no-browser"], capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]

    assert "reusing" in again.stdout and "dbt build" not in again.stdout
    [measured, _] = sorted(data_dir.glob("results-*.json"))
    results = json.loads(measured.read_text())
    expected = {f"{name}/{span}" for name in REPORTS for span in ("7d", "3d")}
    assert set(results["cold"]) == set(results["warm"]) == set(results["pages"]) == expected
    for key, figures in results["warm"].items():
        assert set(figures["charts"]) == {chart.name for chart in REPORTS[key.split("/")[0]].charts}
        assert figures["uncached"]["n"] == figures["cached"]["n"] == 1
    assert all(set(page) == {"uncached", "cached"} for page in results["pages"].values())
    with duckdb.connect() as connection:
        written = one(connection, f"select count(*) from read_parquet('{data_dir}/ods/ods_events/**/*.parquet')")
    assert results["data"]["events"] == written


def test_a_changed_dbt_project_is_built_again_on_the_same_events(tmp_path):
    """The 10M-event build takes ten minutes to generate: a new or changed model rebuilds the
    warehouse from the same events; --reports measures only the reports named, --time-zone sets
    the app's zone."""
    data_dir = tmp_path / "dashboards"
    command = [sys.executable, str(REPO_ROOT / "bench" / "dashboards" / "run.py"), "--events", "2000", "--days", "2"]
    command += ["--data-dir", str(data_dir), "--repetitions", "1", "--cold-repetitions", "1", "--no-browser"]
    env = {**os.environ, "PATH": f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    first = subprocess.run([*command, "--build-only"], capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    record_path = data_dir / "build.json"
    record = json.loads(record_path.read_text())
    record_path.write_text(json.dumps({**record, "dbt_fingerprint": "an older dbt project"}))

    measure = [*command, "--reports", "activity,path", "--time-zone", "Asia/Kathmandu"]
    again = subprocess.run(measure, capture_output=True, text=True, env=env, cwd=REPO_ROOT)

    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "dbt project changed" in again.stdout and "generated day" not in again.stdout
    rebuilt = json.loads(record_path.read_text())
    assert rebuilt["dbt_fingerprint"] == record["dbt_fingerprint"] and rebuilt["events"] == record["events"]
    [measured] = data_dir.glob("results-*.json")
    results = json.loads(measured.read_text())
    assert set(results["warm"]) == {"activity/7d", "activity/2d", "path/7d", "path/2d"} and results["time_zone"] == "Asia/Kathmandu"
    refused = subprocess.run([*command, "--reports", "activity,nope"], capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    assert refused.returncode == 2 and "unknown report nope" in refused.stderr
    refused = subprocess.run([*command, "--time-zone", "Mars/Olympus"], capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    assert refused.returncode == 2 and "'Mars/Olympus' is not an IANA time zone name" in refused.stderr
