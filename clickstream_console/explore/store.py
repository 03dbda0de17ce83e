"""Saved analyses in the console database, each save and delete audited in the same transaction
(the caller commits), as saved custom reports (studio/custom/store.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clickstream_console.db.models import AuditEntry, SavedAnalysis, utc_now
from clickstream_console.explore.filters import BadSpec

MAX_NAME_LENGTH = 200


def saved_analyses(session: Session, app_id: str) -> list[SavedAnalysis]:
    return list(session.scalars(select(SavedAnalysis).where(SavedAnalysis.app_id == app_id).order_by(SavedAnalysis.name)))


def saved_analysis(session: Session, app_id: str, analysis_id: int) -> SavedAnalysis | None:
    found = session.get(SavedAnalysis, analysis_id)
    return found if found is not None and found.app_id == app_id else None


def checked_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise BadSpec("name", "give the analysis a name")
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise BadSpec("name", f"longer than {MAX_NAME_LENGTH} characters")
    return name.strip()


def save_analysis(session: Session, app_id: str, name: str, kind: str, spec: dict, *, actor: str) -> SavedAnalysis:
    """A new analysis, or the app's analysis of that name replaced (saving again under the same name
    updates it, as an editor expects)."""
    existing = session.scalars(select(SavedAnalysis).where(SavedAnalysis.app_id == app_id, SavedAnalysis.name == name)).first()
    before = _state(existing) if existing is not None else None
    analysis = existing or SavedAnalysis(app_id=app_id, name=name, created_by=actor)
    analysis.kind, analysis.spec = kind, spec
    analysis.updated_by, analysis.updated_at = actor, utc_now()
    session.add(analysis)
    session.flush()
    detail = {"new": _state(analysis)} if before is None else {"old": before, "new": _state(analysis)}
    session.add(AuditEntry(actor=actor, action="analysis.save", target=f"{app_id}/{analysis.id}", detail=detail))
    return analysis


def delete_analysis(session: Session, analysis: SavedAnalysis, *, actor: str) -> None:
    session.add(
        AuditEntry(actor=actor, action="analysis.delete", target=f"{analysis.app_id}/{analysis.id}", detail={"old": _state(analysis)})
    )
    session.delete(analysis)


def _state(analysis: SavedAnalysis) -> dict[str, object]:
    return {"name": analysis.name, "kind": analysis.kind, "spec": analysis.spec}
