"""Data Management in headless Chromium, served by `clickstream console` on the hand-made catalogue
warehouse: an Analyst opens the area from the menu, reads the events (numbers equal SQL's, the new
events flagged), documents an event on its page and sees its display name and description in the
list, and reads the user attributes; an Analyst Reader sees the event without the form. No
console error on any page."""

from __future__ import annotations

import pytest

from clickstream_console.identity.roles import Role
from tests.console.catalogue_fixture import APP_ID, FORMULA_NAME, sql, write_catalogue_project
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir, sign_out_steps
from tests.console.console_helpers import PASSWORD, add_user, console_app

EVENTS = "[data-testid=catalogue-events]"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    directory = tmp_path_factory.mktemp("catalogue-console")
    project_file = write_catalogue_project(directory)
    app = console_app(project_file)
    add_user(app, "analyst@example.com", [Role.ANALYST])
    add_user(app, "reader@example.com", [Role.ANALYST_READER])
    with running_console(project_file, directory / "console.log") as url:
        yield url, directory / "catalogue.duckdb"


def test_an_analyst_documents_an_event_and_an_analyst_reader_reads_it(console, tmp_path):
    url, database = console
    run = browse(
        url,
        [
            *local_sign_in_steps("analyst@example.com", PASSWORD),
            {"click": 'nav a[href="/studio/catalogue"]', "navigate": True},
            {"click": f'[data-testid=catalogue-app] a[href="/studio/{APP_ID}/catalogue"]', "navigate": True},
            {"capture": "names", "selector": f"{EVENTS} td[data-column=event_name]"},
            {"capture": "events", "selector": f"{EVENTS} td[data-column=events_30d]"},
            {"capture": "users", "selector": f"{EVENTS} td[data-column=users_30d]"},
            {"capture": "sdks", "selector": f"{EVENTS} td[data-column=sdk_versions]"},
            {"capture": "new", "selector": f"{EVENTS} tr:has([data-testid=new-badge]) td[data-column=event_name]"},
            {"capture": "undocumented", "selector": f"{EVENTS} tr:has([data-testid=undocumented-badge]) td[data-column=event_name]"},
            {"screenshot": "catalogue-events"},
            {"click": f'{EVENTS} tr[data-name="_page_view"] td[data-column=display_name] a', "navigate": True},
            {"capture": "keys", "selector": "[data-testid=event-parameters] td[data-column=key]"},
            {"capture": "title_values", "selector": "[data-testid=event-parameters] tr[data-key=_page_title] .top-value"},
            {"fill": "[data-testid=display-name]", "value": "Page view"},
            {"fill": "[data-testid=description]", "value": "A web page or app screen shown to the user."},
            {"click": "[data-testid=save-event]", "navigate": True},
            {"capture": "title", "selector": "[data-testid=event-title]"},
            {"screenshot": "catalogue-event"},
            {"click": "[data-testid=events-link]", "navigate": True},
            {"capture": "display_name", "selector": f'{EVENTS} tr[data-name="_page_view"] td[data-column=display_name] a'},
            {"capture": "description", "selector": f'{EVENTS} tr[data-name="_page_view"] td[data-column=description]'},
            {"capture": "undocumented_after", "selector": f"{EVENTS} tr:has([data-testid=undocumented-badge]) td[data-column=event_name]"},
            {"screenshot": "catalogue-events-documented"},
            {"click": "[data-testid=user-attributes-link]", "navigate": True},
            {"capture": "attribute_keys", "selector": "[data-testid=user-attributes] td[data-column=key]"},
            {"capture": "attribute_users", "selector": "[data-testid=user-attributes] td[data-column=users_30d]"},
            {"screenshot": "catalogue-user-attributes"},
            *sign_out_steps(),
            *local_sign_in_steps("reader@example.com", PASSWORD),
            {"goto": f"/studio/{APP_ID}/catalogue/event?name=_page_view"},
            {"capture": "reader_title", "selector": "[data-testid=event-title]"},
            {"capture": "reader_description", "selector": "[data-testid=event-description]"},
            {"capture": "reader_forms", "selector": "[data-testid=event-form]"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    expected = sql(database, "select event_name, events_30d, users_30d from clickstream_catalogue_events order by event_name")
    shown = zip(run.captures["names"], map(int, run.captures["events"]), map(int, run.captures["users"]), strict=True)
    assert list(shown) == expected
    # One line per SDK name (the fixture's purchase: two SDK versions, FORMULA_NAME: one).
    sdks = dict(zip(run.captures["names"], run.captures["sdks"], strict=True))
    assert (sdks["purchase"], sdks[FORMULA_NAME]) == ("aws-solution-clickstream-sdk 0.11.3, 0.12.4", "custom-sdk 2")
    assert sorted(run.captures["new"]) == sorted(["purchase", FORMULA_NAME])
    assert sorted(run.captures["undocumented"]) == sorted(name for name, _, _ in expected)
    assert run.captures["keys"] == ["_page_title", "_session_id"]
    assert run.captures["title_values"] == ["Home (70)", "Men's shoes (30)", "Cart (18)"]
    assert run.captures["title"][0].startswith("Page view")
    assert run.captures["display_name"] == ["Page view"]
    assert run.captures["description"] == ["A web page or app screen shown to the user."]
    assert "_page_view" not in run.captures["undocumented_after"] and len(run.captures["undocumented_after"]) == len(expected) - 1
    assert run.captures["attribute_keys"] == ["age", "plan"] and run.captures["attribute_users"] == ["9", "25"]
    assert run.captures["reader_title"][0].startswith("Page view") and run.captures["reader_forms"] == []
    assert run.captures["reader_description"] == ["A web page or app screen shown to the user."]
