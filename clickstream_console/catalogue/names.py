"""Events' display names for any page that shows event names (Explore, reports): the one call.

Pages carry them as JSON (templates/studio/_event_names.html) and the charts' script shows an
event's display name wherever a chart marks a column as holding event names (studio.model.Chart
.event_names); data, CSV exports and links keep the event names themselves."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clickstream_console.catalogue.queries import catalogue_events, property_keys
from clickstream_console.catalogue.store import definitions
from clickstream_console.explore.properties import EVENT_PREFIX, USER_PREFIX
from clickstream_console.state import db
from clickstream_console.warehouse.query import QueryError, QueryTimeout, WarehouseUnavailable


def display_names(session: Session, app_id: str) -> dict[str, str]:
    """Event name → display name, for the app's events that have one (others show their name)."""
    return {name: row.display_name for name, row in definitions(session, app_id).items() if row.display_name}


def page_display_names(app_id: str) -> dict[str, str]:
    """``display_names`` for this request's pages (a template global)."""
    return display_names(db(), app_id)


def event_choices(app_id: str) -> list[tuple[str, str]]:
    """The app's events (the catalogue's, by name) with their display names ('' where none): what an
    event field suggests. Empty when the catalogue cannot be read: a typed name still works."""
    try:
        events = catalogue_events(app_id)
    except (QueryError, QueryTimeout, WarehouseUnavailable):
        return []
    shown = page_display_names(app_id)
    return [(event.name, shown.get(event.name, "")) for event in events]


def property_choices(app_id: str) -> list[tuple[str, str]]:
    """The app's event parameters and user attributes as Explore names them (``event.<key>``,
    ``user.<key>``) with a label; empty when the catalogue cannot be read."""
    try:
        keys = property_keys(app_id)
    except (QueryError, QueryTimeout, WarehouseUnavailable):
        return []
    prefixes = {"event_parameter": (EVENT_PREFIX, "event attribute"), "user_attribute": (USER_PREFIX, "user attribute")}
    return [(prefixes[kind][0] + key, prefixes[kind][1]) for kind, key in keys if kind in prefixes]
