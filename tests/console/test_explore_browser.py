"""Explore in headless Chromium, served by `clickstream console`: an Analyst opens a funnel from its
link, completes it in the builder (a step added, a filter on every event), runs it, reads the
numbers in the chart's table view and saves it; an Analyst Reader opens the saved funnel, read
only. The numbers on the pages are the hand-computed ones, with no console error. Events show by
their display names (Data Management's) and event fields suggest the app's events."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, urlsplit

import duckdb
import pytest

from clickstream_console.identity.roles import Role
from clickstream_project.published_warehouse import publish
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir, sign_out_steps
from tests.console.console_helpers import PASSWORD, add_user, console_app, name_events, write_project
from tests.console.explore_fixture import APP, load
from tests.console.test_explore_pages import EVENTS, RANGE

READY = "[data-testid=report][data-state=ready]"
DISPLAY_NAMES = {"add_to_cart": "Add to cart"}
STEP = "[data-field=steps] [data-event]:nth-child({}) input[data-path=event]"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    directory = tmp_path_factory.mktemp("explore-console")
    database = directory / "explore.duckdb"
    with duckdb.connect(str(database)) as connection:
        load(connection, EVENTS)
        # The path analysis' screens (the fixture's path view has events only).
        connection.execute(f'alter table "{APP}".clickstream_path_view add column current_screen varchar')
        # The event catalogue's events (what event fields suggest), as its dbt model has them.
        connection.execute(
            f"""create table "{APP}".clickstream_catalogue_events as
            select event_name, min(event_date) as first_seen_date, max(event_date) as last_seen_date, count(*) as events_30d,
                count(distinct user_pseudo_id) as users_30d, string_agg(distinct platform, ', ') as platforms,
                cast(null as varchar) as sdk_versions, max(max(event_date)) over () as newest_event_date
            from "{APP}".clickstream_ods_event_view group by event_name"""
        )
    publish(database)
    project_file = write_project(directory, pipeline={"modeling": {"duckdb_path": str(database)}})
    app = console_app(project_file)
    add_user(app, "analyst@example.com", [Role.ANALYST])
    add_user(app, "reader@example.com", [Role.ANALYST_READER])
    name_events(app, APP, DISPLAY_NAMES)
    with running_console(project_file, directory / "console.log") as url:
        yield url


def test_an_analyst_builds_runs_and_saves_a_funnel_and_a_reader_opens_it(console, tmp_path):
    # A link with the range and the first step; the second step is still empty (refused, 400).
    link = f"/explore/{APP}/new/funnel?spec=" + quote(json.dumps({**RANGE, "steps": [{"event": "add_to_cart"}, {"event": ""}]}))
    run = browse(
        console,
        [
            *local_sign_in_steps("analyst@example.com", PASSWORD),
            {"goto": link},
            {"capture": "refused", "selector": "[data-testid=analysis-error]"},
            {"capture": "suggested", "selector": "#explore-events-funnel option", "attribute": "value"},
            {"capture": "suggested_labels", "selector": "#explore-events-funnel option"},
            {"fill": STEP.format(2), "value": "purchase"},
            {"click": "[data-action=add-steps]"},
            {"fill": STEP.format(3), "value": "purchase"},
            {"click": "[data-block=global] > [data-action=add-filter]"},
            {"fill": "[data-block=global] [data-path=property]", "value": "platform"},
            {"select": "[data-block=global] [data-path=operator]", "value": "in"},
            {"fill": "[data-block=global] [data-path=value]", "value": "Web, iOS"},
            {"click": "[data-testid=run-analysis]", "navigate": True},
            {"waitFor": READY},
            {"url": "ran"},
            {"screenshot": "explore-funnel"},
            {"click": "[data-testid=chart-result] [data-action=table]"},
            {"capture": "counts", "selector": "[data-testid=chart-result] td[data-column=count]"},
            {"capture": "labels", "selector": "[data-testid=chart-result] td[data-column=label]"},
            {"capture": "label_titles", "selector": "[data-testid=chart-result] td[data-column=label]", "attribute": "title"},
            {"fill": "[data-testid=save-name]", "value": "Cart to purchase"},
            {"click": "[data-testid=save-analysis]", "navigate": True},
            {"url": "saved"},
            {"waitFor": READY},
            *sign_out_steps(),
            *local_sign_in_steps("reader@example.com", PASSWORD),
            {"goto": "/explore"},
            {"click": f'[data-testid=saved-analyses-{APP}] tr[data-name="Cart to purchase"] a', "navigate": True},
            {"waitFor": READY},
            {"click": "[data-testid=chart-result] [data-action=table]"},
            {"capture": "reader_counts", "selector": "[data-testid=chart-result] td[data-column=count]"},
            {"capture": "reader_run_buttons", "selector": "[data-testid=run-analysis]"},
            {"screenshot": "explore-funnel-reader"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean(expected_statuses=(400,))
    assert run.captures["refused"] and "steps[1].event" in run.captures["refused"][0]
    ran = json.loads(parse_qs(urlsplit(run.urls["ran"]).query)["spec"][0])
    assert ran["steps"] == [
        {"event": "add_to_cart", "filters": []},
        {"event": "purchase", "filters": []},
        {"event": "purchase", "filters": []},
    ]
    assert ran["filters"] == [{"property": "platform", "operator": "in", "values": ["Web", "iOS"]}]
    # Three users add to cart; u1 pays within the day; nobody pays twice.
    assert run.captures["counts"] == ["3", "1", "0"]
    # The steps by display name where an event has one; hovering shows the event's own name.
    assert run.captures["labels"] == ["1. Add to cart", "2. purchase", "3. purchase"]
    assert run.captures["label_titles"][0] == "1. Add to cart (1. add_to_cart)"
    events = sorted({event.name for event in EVENTS})
    assert run.captures["suggested"] == events
    assert run.captures["suggested_labels"] == [DISPLAY_NAMES.get(name, "") for name in events]
    assert "/explore/shop_web/saved/" in run.urls["saved"]
    assert run.captures["reader_counts"] == ["3", "1", "0"] and run.captures["reader_run_buttons"] == []


def test_a_paths_node_leads_to_the_users_behind_it(console, tmp_path):
    spec = {**RANGE, "anchor": {"side": "start", "node_type": "event", "node": "_session_start"}, "steps": 3}
    run = browse(
        console,
        [
            *local_sign_in_steps("analyst@example.com", PASSWORD),
            {"goto": f"/explore/{APP}/new/path?spec=" + quote(json.dumps(spec))},
            {"waitFor": READY},
            {"capture": "nodes", "selector": "[data-testid=path-node] option"},
            {"select": "[data-testid=path-node]", "value": "step 2: _page_view"},
            {"click": "[data-testid=path-node-detail]", "navigate": True},
            {"waitFor": READY},
            {"url": "detail"},
            {"capture": "users", "selector": "[data-testid=chart-detail] td[data-column=user_pseudo_id]"},
            {"screenshot": "explore-path-detail"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    # Sessions s1 (u1: start, page view, cart) and s2 (u2: start, cart); u3 has no session start.
    assert run.captures["nodes"] == [
        "step 1: _session_start",
        "step 2: _page_view",
        "step 2: Add to cart",
        "step 3: (drop-off)",
        "step 3: Add to cart",
    ]
    ran = json.loads(parse_qs(urlsplit(run.urls["detail"]).query)["spec"][0])
    assert ran["detail"] == {"step": 2, "node": "_page_view"}
    assert run.captures["users"] == ["u1"]
