"""Events' display names for any page that shows event names (Explore, reports): the one call."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clickstream_console.catalogue.store import definitions


def display_names(session: Session, app_id: str) -> dict[str, str]:
    """Event name → display name, for the app's events that have one (others show their name)."""
    return {name: row.display_name for name, row in definitions(session, app_id).items() if row.display_name}
