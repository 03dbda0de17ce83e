"""The demo's custom report: one per app, saved as an Analyst would, so a newcomer opening the
console finds a custom report next to the presets (clickstream_tools/demo.py calls this)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clickstream_console.db.migrate import console_engine
from clickstream_console.setup import prepare_database
from clickstream_console.studio.custom.definition import Definition
from clickstream_console.studio.custom.store import save_report, saved_reports
from clickstream_console.studio.model import event_day, events_in_range
from clickstream_project.config import ProjectConfig

DEMO_REPORT = Definition(
    name="Events per platform per day",
    sql=(
        f"select {event_day('e')} as event_date, e.platform, count(*) as events\n"
        "from clickstream_ods_event_view as e\n"
        f"where {events_in_range('e')}\n"
        "group by 1, 2\n"
        "order by 1, 2"
    ),
    chart_kind="bar",
    x_column="event_date",
    series_column="platform",
    y_columns=("events",),
    stacked=True,
)


def save_demo_reports(config: ProjectConfig, actor: str) -> list[str]:
    """Save DEMO_REPORT for every app of ``config`` that lacks it (audited as ``actor``); the app
    ids it was saved for. Running it again changes nothing."""
    engine = console_engine(prepare_database(config))
    saved_for = []
    try:
        with Session(engine) as session:
            for app in config.apps:
                if any(report.name == DEMO_REPORT.name for report in saved_reports(session, app.app_id)):
                    continue
                save_report(session, app.app_id, DEMO_REPORT, actor=actor)
                saved_for.append(app.app_id)
            session.commit()
    finally:
        engine.dispose()
    return saved_for
