"""Saved custom reports in the console database, each save and delete audited in the same
transaction (the caller commits). The console's pages and the demo's seed both save through here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clickstream_console.db.models import AuditEntry, SavedReport, utc_now
from clickstream_console.studio.custom.definition import BadField, Definition


def saved_reports(session: Session, app_id: str) -> list[SavedReport]:
    return list(session.scalars(select(SavedReport).where(SavedReport.app_id == app_id).order_by(SavedReport.name)))


def saved_report(session: Session, app_id: str, report_id: int) -> SavedReport | None:
    found = session.get(SavedReport, report_id)
    return found if found is not None and found.app_id == app_id else None


def definition_of(saved: SavedReport) -> Definition:
    return Definition(saved.name, saved.sql, saved.chart_kind, saved.x_column, saved.series_column, tuple(saved.y_columns), saved.stacked)


def save_report(session: Session, app_id: str, definition: Definition, *, actor: str, existing: SavedReport | None = None) -> SavedReport:
    """A new report (``existing`` None) or ``existing`` changed to ``definition``; BadField("name")
    when the app has another report of that name."""
    clash = session.scalars(select(SavedReport.id).where(SavedReport.app_id == app_id, SavedReport.name == definition.name)).first()
    if clash is not None and (existing is None or clash != existing.id):
        raise BadField("name", f"{app_id} already has a report named {definition.name!r}")
    before = _state(existing) if existing is not None else None
    report = existing or SavedReport(app_id=app_id, created_by=actor)
    report.name, report.sql, report.chart_kind = definition.name, definition.sql, definition.chart_kind
    report.x_column, report.series_column, report.y_columns = definition.x_column, definition.series_column, list(definition.y_columns)
    report.stacked = definition.stacked
    report.updated_by, report.updated_at = actor, utc_now()
    session.add(report)
    session.flush()
    detail = {"new": _state(report)} if before is None else {"old": before, "new": _state(report)}
    session.add(AuditEntry(actor=actor, action="custom_report.save", target=f"{app_id}/{report.id}", detail=detail))
    return report


def delete_report(session: Session, report: SavedReport, *, actor: str) -> None:
    session.add(
        AuditEntry(actor=actor, action="custom_report.delete", target=f"{report.app_id}/{report.id}", detail={"old": _state(report)})
    )
    session.delete(report)


def _state(report: SavedReport) -> dict[str, object]:
    return {
        "name": report.name,
        "sql": report.sql,
        "chart_kind": report.chart_kind,
        "x_column": report.x_column,
        "series_column": report.series_column,
        "y_columns": list(report.y_columns),
        "stacked": report.stacked,
    }
