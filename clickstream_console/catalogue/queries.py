"""What the Data Management pages read from the dbt catalogue models (dbt_project/models/marts/
clickstream_catalogue_*), in DuckDB's dialect with bound values, run through the dashboards' query
layer and result cache, so the pages work on every warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from clickstream_console.studio.results import run_query
from clickstream_console.warehouse.query import ReportQuery

_EVENT_COLUMNS = "event_name, first_seen_date, last_seen_date, events_30d, users_30d, platforms, sdk_versions, newest_event_date"
EVENTS = ReportQuery("catalogue_events", f"select {_EVENT_COLUMNS} from clickstream_catalogue_events order by event_name")
EVENT = ReportQuery("catalogue_event", f"select {_EVENT_COLUMNS} from clickstream_catalogue_events where event_name = :event_name")
# An event's parameters (kind 'event_parameter') or the user attributes (kind 'user_attribute',
# event name ''), each with its top values: one row per value, in rank order.
PROPERTIES = ReportQuery(
    "catalogue_properties",
    "select p.property_key, p.value_types, p.first_seen_date, p.last_seen_date, p.events_30d, p.users_30d, p.platforms, "
    "v.property_value, v.events_30d as value_events\n"
    "from clickstream_catalogue_properties as p\n"
    "left join clickstream_catalogue_top_values as v\n"
    "    on v.kind = p.kind and v.event_name = p.event_name and v.property_key = p.property_key\n"
    "where p.kind = :kind and p.event_name = :event_name\n"
    "order by p.property_key, v.value_rank",
)
# Every event parameter key and user attribute key the app has sent (what a filter suggests).
PROPERTY_KEYS = ReportQuery(
    "catalogue_property_keys",
    "select distinct kind, property_key from clickstream_catalogue_properties order by kind, property_key",
)
QUERIES = (EVENTS, EVENT, PROPERTIES, PROPERTY_KEYS)


@dataclass(frozen=True)
class CatalogueEvent:
    name: str
    first_seen: date
    last_seen: date
    events_30d: int
    users_30d: int
    platforms: tuple[str, ...]
    # The SDKs that sent it over the 30 days, as "name version".
    sdk_versions: tuple[str, ...]
    # The end of the 30 days: the app's newest event date.
    newest: date

    @property
    def sdks_by_name(self) -> list[str]:
        """The SDK versions to read, one entry per SDK name ('aws-solution-clickstream-sdk 0.12.4,
        0.12.5'): the name repeated on every version made the list column several times wider.
        The model lists the items in alphabetical order, so one name's versions are adjacent."""
        grouped: list[tuple[str, list[str]]] = []
        for item in self.sdk_versions:
            name, _, version = item.rpartition(" ")
            if not name:  # a name or a version sent alone
                grouped.append((item, []))
            elif grouped and grouped[-1][0] == name:
                grouped[-1][1].append(version)
            else:
                grouped.append((name, [version]))
        return [f"{name} {', '.join(versions)}" if versions else name for name, versions in grouped]


@dataclass
class Property:
    """An event parameter or a user attribute as observed."""

    key: str
    value_types: tuple[str, ...]
    first_seen: date
    last_seen: date
    events_30d: int
    # User attributes only (event parameters count events).
    users_30d: int | None
    platforms: tuple[str, ...]
    top_values: list[tuple[str, int]] = field(default_factory=list)


def catalogue_events(app_id: str) -> list[CatalogueEvent]:
    return [_event(row) for row in run_query(EVENTS, {}, app_id).rows]


def catalogue_event(app_id: str, event_name: str) -> CatalogueEvent | None:
    rows = run_query(EVENT, {"event_name": event_name}, app_id).rows
    return _event(rows[0]) if rows else None


def event_parameters(app_id: str, event_name: str) -> list[Property]:
    return _properties(run_query(PROPERTIES, {"kind": "event_parameter", "event_name": event_name}, app_id).rows)


def user_attributes(app_id: str) -> list[Property]:
    return _properties(run_query(PROPERTIES, {"kind": "user_attribute", "event_name": ""}, app_id).rows)


def property_keys(app_id: str) -> list[tuple[str, str]]:
    """(kind, key) of every event parameter ('event_parameter') and user attribute ('user_attribute')."""
    return [(kind, key) for kind, key in run_query(PROPERTY_KEYS, {}, app_id).rows]


def _event(row: tuple) -> CatalogueEvent:
    name, first_seen, last_seen, events, users, platforms, sdk_versions, newest = row
    return CatalogueEvent(
        name, _date(first_seen), _date(last_seen), int(events), int(users), _list(platforms), _list(sdk_versions), _date(newest)
    )


def _properties(rows: tuple[tuple, ...]) -> list[Property]:
    found: dict[str, Property] = {}
    for key, types, first_seen, last_seen, events, users, platforms, value, value_events in rows:
        item = found.get(key)
        if item is None:
            item = found[key] = Property(
                key, _list(types), _date(first_seen), _date(last_seen), int(events), None if users is None else int(users), _list(platforms)
            )
        if value is not None:
            item.top_values.append((value, int(value_events)))
    return list(found.values())


def _list(text: str | None) -> tuple[str, ...]:
    """A catalogue list column ('Android, Web') as its items."""
    return tuple(text.split(", ")) if text else ()


def _date(value: object) -> date:
    """A DATE as each driver returns it (a date, or ISO text from Athena)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
