"""The demo's event documentation: display names and descriptions of the events the demo's
generator sends (clickstream_tools/generator/), saved as an Analyst would for every app, so a
newcomer finds a documented catalogue (clickstream_tools/demo.py calls this)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clickstream_console.catalogue.store import Documentation, definitions, save_documentation
from clickstream_console.db.migrate import console_engine
from clickstream_console.setup import prepare_database
from clickstream_project.config import ProjectConfig

DEMO_DOCUMENTATION: dict[str, Documentation] = {
    "_first_open": Documentation("First open", "A mobile app opened for the first time after it was installed (the SDK sends it once)."),
    "_first_visit": Documentation("First visit", "A browser's first visit to the web shop (the SDK sends it once per browser)."),
    "_session_start": Documentation("Session start", "A session began: the first event after 30 minutes without one."),
    "_app_start": Documentation("App start", "The app came to the foreground."),
    "_app_end": Documentation("App end", "The app went to the background."),
    "_screen_view": Documentation("Screen view", "A mobile screen was shown; _screen_name is its Activity or view controller."),
    "_page_view": Documentation("Page view", "A web page was shown; _page_title and _page_url say which."),
    "_user_engagement": Documentation(
        "User engagement", "Time spent on a screen or page (_engagement_time_msec), sent when the user leaves it."
    ),
    "_profile_set": Documentation(
        "Profile set", "The user signed in: the app set the user id and user attributes (membership level, newsletter opt-in)."
    ),
    "view_item": Documentation("View product", "A product's detail was shown; _value is its price."),
    "add_to_cart": Documentation("Add to cart", "Products were added to the cart; _value is their price times the quantity."),
    "search": Documentation("Search", "The user searched the shop; search_term is what they typed."),
    "purchase": Documentation("Purchase", "An order was placed; _value is its total and transaction_id its number."),
}


def save_demo_documentation(config: ProjectConfig, actor: str) -> list[str]:
    """Document DEMO_DOCUMENTATION's events for every app of ``config`` where they are not
    documented yet (audited as ``actor``); the app ids documented. Running it again changes nothing."""
    engine = console_engine(prepare_database(config))
    documented_for = []
    try:
        with Session(engine) as session:
            for app in config.apps:
                existing = definitions(session, app.app_id)
                missing = {name: doc for name, doc in DEMO_DOCUMENTATION.items() if name not in existing}
                for name, documentation in missing.items():
                    save_documentation(session, app.app_id, name, documentation, actor=actor)
                if missing:
                    documented_for.append(app.app_id)
            session.commit()
    finally:
        engine.dispose()
    return documented_for
