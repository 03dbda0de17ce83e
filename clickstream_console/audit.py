"""The audit log: every change made in the console, who made it and when, shown to
administrators (System → Audit log). A change and its entry commit in one transaction where the
change is in the database; a change to the project file is logged right after the file is
written (the file cannot join the transaction)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clickstream_console.access import current_viewer
from clickstream_console.db.models import AuditEntry
from clickstream_console.state import db

# Keys whose values never reach the log, whatever the change (masked, not dropped: the entry
# still says that the secret changed). Service keys count (MaxMind's license_key, AWS' access_key),
# and so does Kafka's sasl.jaas.config, which holds its password inline.
_SECRET_WORDS = (
    "secret",
    "password",
    "passphrase",
    "token",
    "authorization",
    "credential",
    "private",
    "api_key",
    "apikey",
    "access_key",
    "license_key",
    "jaas",
)
MASK = "••••••"


def mask_secrets(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: MASK if any(word in str(key).lower() for word in _SECRET_WORDS) else mask_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def record(action: str, target: str, detail: Mapping[str, Any] | None = None, note: str | None = None) -> AuditEntry:
    """Add an entry by the signed-in viewer to this request's session (the caller commits)."""
    entry = AuditEntry(
        actor=current_viewer().email, action=action, target=target, detail=mask_secrets(detail) if detail else None, note=note
    )
    db().add(entry)
    return entry


def recent(session: Session, limit: int = 200, offset: int = 0) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)))
