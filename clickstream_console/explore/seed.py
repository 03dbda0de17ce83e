"""The demo's saved analyses: one of each type per app, saved as an Analyst would, so a newcomer
opening Explore finds them on the demo's events (clickstream_tools/demo.py calls this). Each is
parsed by its type before it is saved, as the pages do."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from clickstream_console.db.migrate import console_engine
from clickstream_console.explore.registry import KINDS
from clickstream_console.explore.store import save_analysis, saved_analyses
from clickstream_console.setup import prepare_database
from clickstream_project.config import ProjectConfig

_LAST_7_DAYS = {"range": "last7"}
# (name, type, spec) on the event names every demo app sends (clickstream_tools/demo.py's generator).
DEMO_ANALYSES: tuple[tuple[str, str, dict], ...] = (
    (
        "Users adding to cart, by device language",
        "event",
        {
            **_LAST_7_DAYS,
            "events": [{"event": "add_to_cart"}],
            "measure": "unique_users",
            "display": "over_time",
            # Every SDK sends the device's language; the demo has no GeoIP database, so no countries.
            "breakdown": {"property": "device_system_language", "top": 5},
        },
    ),
    (
        "Session to purchase",
        "funnel",
        {
            **_LAST_7_DAYS,
            "steps": [{"event": "_session_start"}, {"event": "view_item"}, {"event": "add_to_cart"}, {"event": "purchase"}],
            "window": {"value": 1, "unit": "day"},
        },
    ),
    (
        "Journeys after a session starts",
        "path",
        {**_LAST_7_DAYS, "anchor": {"side": "start", "node_type": "event", "node": "_session_start"}, "steps": 5},
    ),
    (
        "Users coming back",
        "retention",
        {
            **_LAST_7_DAYS,
            "start_event": {"event": "_session_start"},
            "return_event": {"event": "_session_start"},
            "period": "day",
            "periods": 7,
        },
    ),
)


def save_demo_analyses(config: ProjectConfig, actor: str) -> list[str]:
    """Save the DEMO_ANALYSES an app of ``config`` lacks (audited as ``actor``); the ``app/name``s
    saved. Running it again changes nothing."""
    engine = console_engine(prepare_database(config))
    saved = []
    try:
        with Session(engine) as session:
            for app in config.apps:
                existing = {analysis.name for analysis in saved_analyses(session, app.app_id)}
                for name, kind, data in DEMO_ANALYSES:
                    if name in existing:
                        continue
                    spec = KINDS[kind].parse(data, datetime.now(UTC), app.time_zone)
                    save_analysis(session, app.app_id, name, kind, spec.to_json(), actor=actor)
                    saved.append(f"{app.app_id}/{name}")
            session.commit()
    finally:
        engine.dispose()
    return saved
