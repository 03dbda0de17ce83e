"""The Cognito page in headless Chromium, served by `clickstream console` on the hand-made Cognito
warehouse: an Analyst opens it from the menu, types an identity into the app's lookup form and
reads its datasets' current state (equal to the Cognito sample connector's query) and its
history (equal to the raw rows); an unknown identity is named. No console error on any page."""

from __future__ import annotations

import pytest

from clickstream_console.identity.roles import Role
from tests.cognito_seed import seed_query
from tests.console.cognito_fixture import ALICE, APP_ID, sql, write_cognito_project
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir
from tests.console.console_helpers import PASSWORD, add_user, console_app

UNKNOWN = "us-east-1:99999999-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cognito-console")
    project_file = write_cognito_project(directory)
    add_user(console_app(project_file), "analyst@example.com", [Role.ANALYST])
    with running_console(project_file, directory / "console.log") as url:
        yield url, directory / "cognito.duckdb"


def test_an_analyst_looks_an_identity_up(console, tmp_path):
    url, database = console
    form = f'[data-testid=cognito-app]:has(form[action="/studio/{APP_ID}/cognito"])'
    run = browse(
        url,
        [
            *local_sign_in_steps("analyst@example.com", PASSWORD),
            {"click": 'nav a[href="/studio/cognito"]', "navigate": True},
            {"fill": f"{form} [data-testid=identity-input]", "value": ALICE},
            {"click": f"{form} button[type=submit]", "navigate": True},
            {"capture": "datasets", "selector": "[data-testid=state-dataset]"},
            {"capture": "keys", "selector": "[data-testid=state] td[data-column=key]"},
            {"capture": "values", "selector": "[data-testid=state] td[data-column=value]"},
            {"capture": "history_keys", "selector": "[data-testid=history] td[data-column=key]"},
            {"capture": "history_ops", "selector": "[data-testid=history] td[data-column=op]"},
            {"screenshot": "cognito-identity"},
            {"fill": "[data-testid=identity-input]", "value": UNKNOWN},
            {"click": "[data-testid=cognito-lookup] button[type=submit]", "navigate": True},
            {"capture": "unknown", "selector": "[data-testid=identity-not-found]"},
            {"screenshot": "cognito-unknown-identity"},
        ],
        screenshot_dir(tmp_path),
    )
    # The unknown identity's page is a 404 by design; everything else must be clean.
    run.assert_clean(expected_statuses=(404,))
    state = [row for dataset in ("game", "preferences") for row in sql(database, seed_query(ALICE, dataset))]
    assert run.captures["datasets"] == ["game", "preferences"]
    assert run.captures["keys"] == [row[2] for row in state]
    assert run.captures["values"] == [row[4] for row in state]
    history = sql(
        database,
        "select key, op from cognito_raw_data where identityid = ? order by lastmodifieddate desc, synccount desc, datasetname, key",
        [ALICE],
    )
    assert list(zip(run.captures["history_keys"], run.captures["history_ops"], strict=True)) == history
    assert UNKNOWN in run.captures["unknown"][0]
