"""Events' display names and descriptions in the console database, each change audited in the same
transaction (the caller commits)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from clickstream_console.db.models import AuditEntry, EventDefinition, utc_now

# The column sizes of event_definitions (db/models.py); a description is a paragraph, not a document.
MAX_DISPLAY_NAME = 100
MAX_DESCRIPTION = 2000


class BadField(ValueError):
    """A form value the catalogue refuses; ``field`` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Documentation:
    """What an Analyst writes about an event; None where nothing is written."""

    display_name: str | None
    description: str | None


def parse_documentation(form: Mapping[str, str]) -> Documentation:
    """The form's display name and description, trimmed (blank: none); BadField names a field too long."""
    display_name = (form.get("display_name") or "").strip()
    description = (form.get("description") or "").strip()
    if len(display_name) > MAX_DISPLAY_NAME:
        raise BadField("display_name", f"the display name has {len(display_name)} characters; at most {MAX_DISPLAY_NAME} are allowed")
    if len(description) > MAX_DESCRIPTION:
        raise BadField("description", f"the description has {len(description)} characters; at most {MAX_DESCRIPTION} are allowed")
    return Documentation(display_name or None, description or None)


def definitions(session: Session, app_id: str) -> dict[str, EventDefinition]:
    """The app's documented events by event name."""
    rows = session.scalars(select(EventDefinition).where(EventDefinition.app_id == app_id))
    return {row.event_name: row for row in rows}


def save_documentation(session: Session, app_id: str, event_name: str, documentation: Documentation, *, actor: str) -> EventDefinition:
    found = session.scalars(
        select(EventDefinition).where(EventDefinition.app_id == app_id, EventDefinition.event_name == event_name)
    ).first()
    before = _state(found) if found is not None else None
    row = found or EventDefinition(app_id=app_id, event_name=event_name)
    row.display_name, row.description = documentation.display_name, documentation.description
    row.updated_by, row.updated_at = actor, utc_now()
    session.add(row)
    detail = {"new": _state(row)} if before is None else {"old": before, "new": _state(row)}
    session.add(AuditEntry(actor=actor, action="catalogue.event.save", target=f"{app_id}/{event_name}", detail=detail))
    return row


def _state(row: EventDefinition) -> dict[str, str | None]:
    return {"display_name": row.display_name, "description": row.description}
