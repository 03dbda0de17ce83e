"""The Path explorer in headless Chromium, served by `clickstream console` on the test's DuckDB
warehouse: the Sankey draws, its table view and the table per step show the links and sessions
the Python walk over the path view computes, the form's choices make the permalink, and an empty
range draws nothing."""

from __future__ import annotations

import pytest

from clickstream_console.identity.roles import Role
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir
from tests.console.console_helpers import PASSWORD, add_user, console_app
from tests.console.studio_fixture import APP_ID, sql, write_studio_project
from tests.console.test_studio_path import RANGE, walk

PAGE = f"/studio/{APP_ID}/path"
READY = "[data-testid=report][data-state=ready]"
SANKEY = "[data-testid=chart-journeys]"
STEPS = "[data-testid=chart-steps]"
COLUMNS = {"links": ("source", "target", "sessions"), "steps": ("step", "top_node", "sessions", "drop_off")}


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    directory = tmp_path_factory.mktemp("studio-path-console")
    project_file = write_studio_project(directory)
    add_user(console_app(project_file), "reader@example.com", [Role.ANALYST_READER])
    with running_console(project_file, directory / "console.log") as url:
        yield url, directory / "studio.duckdb"


def _captures(prefix: str) -> list[dict]:
    steps = [{"capture": f"{prefix}_journeys", "selector": "[data-testid=kpi-journeys]"}]
    steps += [{"capture": f"{prefix}_{column}", "selector": f"{SANKEY} td[data-column={column}]"} for column in COLUMNS["links"]]
    steps += [{"capture": f"{prefix}_step_{column}", "selector": f"{STEPS} td[data-column={column}]"} for column in COLUMNS["steps"]]
    return steps


def test_the_path_page_shows_the_journeys_a_walk_computes(console, tmp_path):
    url, database = console
    run = browse(
        url,
        [
            *local_sign_in_steps("reader@example.com", PASSWORD),
            {"goto": f"{PAGE}?{RANGE}&node_type=screen&node=Home&steps=4"},
            {"waitFor": READY},
            {"capture": "canvases", "selector": f"{SANKEY} .chart-canvas[_echarts_instance_]:not([hidden])"},
            {"screenshot": "studio-path"},
            {"click": f"{SANKEY} [data-action=table]"},
            *_captures("home"),
            {"screenshot": "studio-path-table"},
            {"select": "select[name=node_type]", "value": ""},
            {"fill": "input[name=node]", "value": "purchase"},
            {"select": "select[name=direction]", "value": "to"},
            {"select": "select[name=steps]", "value": "3"},
            {"click": "[data-testid=report-form] button[type=submit]", "navigate": True},
            {"url": "to_purchase"},
            {"waitFor": READY},
            {"click": f"{SANKEY} [data-action=table]"},
            *_captures("purchase"),
            {"screenshot": "studio-path-to-purchase"},
            {"goto": f"{PAGE}?start=2025-06-01&end=2025-06-03"},
            {"waitFor": READY},
            {"capture": "empty", "selector": "[data-role=empty]:not([hidden])"},
            {"capture": "empty_canvases", "selector": ".chart-canvas:not([hidden])"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    rows = sql(
        database,
        "select user_pseudo_id, session_id, event_date, platform, event_rank, event_id, event_name, current_screen from clickstream_path_view",
    )
    assert run.captures["canvases"] != []
    for prefix, expected in (
        ("home", walk(rows, node_type="screen", node="Home", steps=4)),
        ("purchase", walk(rows, node="purchase", direction="to", steps=3)),
    ):
        assert run.captures[f"{prefix}_journeys"] == [str(len(expected.journeys))]
        shown = zip(*(run.captures[f"{prefix}_{column}"] for column in COLUMNS["links"]), strict=True)
        assert {(source, target): int(sessions) for source, target, sessions in shown} == expected.links
        per_step = zip(*(run.captures[f"{prefix}_step_{column}"] for column in COLUMNS["steps"]), strict=True)
        assert {int(step): [int(sessions), int(drop_off)] for step, _, sessions, drop_off in per_step} == {
            step: counts[:2] for step, counts in expected.steps.items()
        }
    # The form keeps the range, and empty choices stay out of the permalink.
    assert run.urls["to_purchase"] == f"{url}{PAGE}?{RANGE}&tz=UTC&node=purchase&direction=to&steps=3"
    assert run.captures["empty"] == ["No data in this range."] * 3 and run.captures["empty_canvases"] == []
