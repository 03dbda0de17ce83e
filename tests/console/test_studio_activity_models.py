"""The Activity report reads the quarter-hour counts (clickstream_event_counts_quarter_hourly,
clickstream_event_attribute_counts_quarter_hourly) instead of the events: its numbers must be
those of the events themselves, each event's day taken in the zone by Python's zone database, in
UTC and in zones a quarter or half hour off UTC (+5:45, -3:30), with and without filters. The
Device report's users by app version read the same counts, by UTC day."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.console.studio_fixture import APP_ID, report_data, signed_in_studio, sql

START, END = date(2026, 1, 5), date(2026, 1, 14)
FILTERS = ({}, {"f_platform": "Web"}, {"f_app_version": "1.1.0"}, {"f_event_name": "add_to_cart", "f_platform": "iOS"})


@pytest.fixture(scope="module", params=["Asia/Kathmandu", "America/St_Johns"])
def studio(request, tmp_path_factory):
    apps = [{"app_id": APP_ID, "name": "Shop Web", "platforms": ["Web"], "time_zone": request.param}]
    client, database = signed_in_studio(tmp_path_factory.mktemp("studio-activity-models"), apps=apps)
    return client, database, request.param


def events_in_range(database, zone: str, filters: dict) -> list[tuple]:
    """(event_id, event_name, user, local day) of the events whose day in ``zone`` is in the range, filtered."""
    rows = sql(
        database, "select event_id, event_name, event_timestamp, platform, user_pseudo_id, app_info_version from clickstream_ods_event_view"
    )
    selected = []
    for event_id, name, timestamp, platform, user, version in rows:
        day = datetime.fromtimestamp(timestamp / 1000, tz=UTC).astimezone(ZoneInfo(zone)).date()
        fields = {"f_event_name": name, "f_platform": platform, "f_app_version": version}
        if START <= day <= END and all(fields[key] == value for key, value in filters.items()):
            selected.append((event_id, name, user, day))
    return selected


def expected_charts(database, events: list[tuple], event: str | None) -> dict[str, list[list]]:
    users = {user for _, _, user, _ in events}
    per_day, per_name = defaultdict(list), defaultdict(list)
    for _, name, user, day in events:
        per_day[day].append(user)
        per_name[name].append(user)
    by_name = sorted(([name, len(names), len(set(names))] for name, names in per_name.items()), key=lambda row: (-row[1], row[0]))
    chosen = event or (by_name[0][0] if by_name else None)
    ids = {event_id for event_id, name, _, _ in events if name == chosen}
    values = Counter(
        (key, value)
        for event_id, key, value in sql(
            database, "select event_id, event_parameter_key, event_parameter_value from clickstream_ods_event_attributes_view"
        )
        if event_id in ids
    )
    ranked, kept = sorted(values.items(), key=lambda item: (item[0][0], -item[1], item[0][1])), Counter()
    attributes = []
    for (key, value), count in ranked:
        kept[key] += 1
        if kept[key] <= 5:
            attributes.append([chosen, key, value, count])
    days = [START + timedelta(days=offset) for offset in range((END - START).days + 1)]
    return {
        "kpis": [[len(events), len(users), round(len(events) / len(users), 2) if users else None]],
        "events_over_time": [[day.isoformat(), len(per_day[day]), len(set(per_day[day]))] for day in days],
        "events_by_name": by_name[:20],
        "event_attributes": attributes,
    }


@pytest.mark.parametrize("filters", FILTERS, ids=["all", "web", "version", "name-and-platform"])
@pytest.mark.parametrize("in_utc", [True, False], ids=["utc", "app-zone"])
def test_every_chart_equals_the_events_counted_in_the_zone(studio, in_utc, filters):
    client, database, app_zone = studio
    zone = "UTC" if in_utc else app_zone
    query = {"start": START.isoformat(), "end": END.isoformat(), "tz": zone, **filters}
    body = report_data(client, f"/studio/{APP_ID}/activity", query)

    expected = expected_charts(database, events_in_range(database, zone, filters), None)
    assert {name: body["charts"][name]["rows"] for name in expected} == expected
    assert body["charts"]["kpis"]["rows"][0][0] > 0


def test_the_chosen_events_attributes_equal_the_events_in_the_zone(studio):
    client, database, zone = studio
    body = report_data(
        client, f"/studio/{APP_ID}/activity", {"start": START.isoformat(), "end": END.isoformat(), "tz": zone, "event": "add_to_cart"}
    )

    expected = expected_charts(database, events_in_range(database, zone, {}), "add_to_cart")["event_attributes"]
    assert body["charts"]["event_attributes"]["rows"] == expected and expected


@pytest.mark.parametrize("filters", [{}, {"f_platform": "Android"}, {"f_brand": "Samsung"}], ids=["all", "android", "brand"])
def test_device_users_by_app_version_equal_the_events_of_the_utc_days(studio, filters):
    client, database, _ = studio
    body = report_data(client, f"/studio/{APP_ID}/device", {"start": "2025-12-20", "end": "2026-01-19", "tz": "UTC", **filters})
    columns = {"f_platform": "platform", "f_brand": "device_mobile_brand_name"}
    where = "".join(f" and {columns[key]} = ?" for key in filters)
    expected = sql(
        database,
        "select coalesce(app_info_version, '(not set)') as v, count(distinct user_pseudo_id) as u, count(*) from clickstream_ods_event_view "
        f"where event_date between ? and ?{where} group by 1 order by u desc, v",
        [date(2025, 12, 20), date(2026, 1, 19), *filters.values()],
    )

    assert body["charts"]["by_app_version"]["rows"] == [list(row) for row in expected] and expected
