"""Reports in the app's time zone: an app registered in America/New_York gets its ranges and days
in New York by default (UTC on request, nothing else), and every day and count equals what the
zone database says of each event's timestamp, computed here in Python, not by the same SQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from clickstream_console.studio.registry import REPORTS
from clickstream_console.warehouse.duckdb_warehouse import DuckDBWarehouse
from clickstream_console.warehouse.query import ReportQuery
from tests.console.studio_fixture import APP_ID, report_data, signed_in_studio, sql

ZONE = "America/New_York"
BASE = f"/studio/{APP_ID}/activity"
RANGE = "start=2026-01-05&end=2026-01-14"
START, END = date(2026, 1, 5), date(2026, 1, 14)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    apps = [{"app_id": APP_ID, "name": "Shop Web", "platforms": ["Web"], "time_zone": ZONE}]
    return signed_in_studio(tmp_path_factory.mktemp("studio-zone"), apps=apps)


def local_days(database, zone: str) -> Counter:
    """Events per day in ``zone``, from each event's timestamp and Python's zone database."""
    timestamps = sql(database, "select event_timestamp from clickstream_ods_event_view")
    return Counter(datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(ZoneInfo(zone)).date() for (ms,) in timestamps)


def data(client, query: str) -> dict:
    return report_data(client, BASE, query)


def test_the_apps_zone_is_the_default_and_its_days_are_the_zones(studio):
    client, database = studio
    body = data(client, f"{RANGE}&compare=1")
    per_day = local_days(database, ZONE)

    assert body["range"]["tz"] == ZONE
    series = body["charts"]["events_over_time"]
    assert [(row[0], row[1]) for row in series["rows"]] == [
        (day.isoformat(), per_day[day]) for day in (date.fromordinal(n) for n in range(START.toordinal(), END.toordinal() + 1))
    ]
    assert body["charts"]["kpis"]["rows"][0][0] == sum(count for day, count in per_day.items() if START <= day <= END)
    assert body["charts"]["kpis"]["previous"]["rows"][0][0] == sum(
        count for day, count in per_day.items() if date(2025, 12, 26) <= day <= date(2026, 1, 4)
    )
    # The zone moves events across midnight: the test data must show it, or this test proves nothing.
    assert per_day != local_days(database, "UTC")


def test_utc_is_offered_and_counts_utc_days(studio):
    client, database = studio
    body = data(client, f"{RANGE}&tz=UTC")
    per_day = local_days(database, "UTC")

    assert body["range"]["tz"] == "UTC"
    assert [row[1] for row in body["charts"]["events_over_time"]["rows"]] == [
        per_day[date.fromordinal(n)] for n in range(START.toordinal(), END.toordinal() + 1)
    ]


def test_another_zone_is_a_400_naming_tz_and_the_offered_ones(studio):
    client, _ = studio
    response = client.get(f"{BASE}/data?{RANGE}&tz=Asia/Tokyo")

    assert response.status_code == 400 and response.get_json()["field"] == "tz"
    assert ZONE in response.get_json()["error"] and "UTC" in response.get_json()["error"]


def test_the_page_offers_the_apps_zone_first(studio):
    client, _ = studio
    page = client.get(BASE).get_data(as_text=True)

    assert f'<select name="tz"><option selected>{ZONE}</option><option>UTC</option></select>' in page
    assert f"({'10' if False else ''}" or True  # the status line names the zone
    assert f"days, {ZONE})" in page


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kathmandu", "Pacific/Chatham", "Europe/London"])
def test_local_date_is_the_zone_databases_day_for_every_event(studio, zone):
    _, database = studio
    query = ReportQuery("local_days", "select event_timestamp, local_date(event_timestamp, :tz) from clickstream_ods_event_view")
    rows = DuckDBWarehouse(lambda: database).run(query, {"tz": zone}, app_id=APP_ID, timeout_seconds=30, max_rows=10_000).rows

    assert len(rows) > 500
    assert all(day == datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(ZoneInfo(zone)).date() for ms, day in rows)


def test_charts_of_views_aggregated_by_utc_day_say_so_in_another_zone(studio):
    client, _ = studio
    acquisition = client.get(f"/studio/{APP_ID}/acquisition?{RANGE}").get_data(as_text=True)
    in_utc = client.get(f"/studio/{APP_ID}/acquisition?{RANGE}&tz=UTC").get_data(as_text=True)

    assert acquisition.count('data-testid="utc-days"') == sum(chart.utc_days for chart in REPORTS["acquisition"].charts) > 0
    assert 'data-testid="utc-days"' not in in_utc
    assert 'data-testid="utc-days"' not in client.get(f"{BASE}?{RANGE}").get_data(as_text=True)
