"""The Cognito page over HTTP on a hand-made Cognito warehouse (cognito_fixture.py): who may look
identities up, the current state and history on the page equal to the Cognito sample connector's
query and the raw rows, removed keys gone, bad and unknown input named,
and both queries parse for Redshift and Athena."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from clickstream_console.cognito.queries import QUERIES
from clickstream_console.identity.roles import Role
from tests.cognito_seed import seed_query
from tests.console.cognito_fixture import (
    ALICE,
    APP_ID,
    BOB,
    GONE,
    NO_SOURCE,
    NOT_BUILT,
    SQL_LIKE,
    sql,
    write_cognito_project,
)
from tests.console.console_helpers import add_user, console_app, sign_in, write_project
from tests.console.sent_sql import parsed_as_sent, tables_read

ROLES = (Role.ADMINISTRATOR, Role.ANALYST, Role.ANALYST_READER, Role.OPERATOR)
BASE = f"/studio/{APP_ID}/cognito"


@pytest.fixture(scope="module")
def cognito(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cognito")
    app = console_app(write_cognito_project(directory))
    clients = {}
    for role in ROLES:
        email = f"{role.name.lower()}@example.com"
        add_user(app, email, [role])
        clients[role] = app.test_client()
        sign_in(clients[role], email)
    return clients, directory / "cognito.duckdb"


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def cells(soup: BeautifulSoup, selector: str, column: str) -> list[str]:
    return [cell.get_text(" ", strip=True) for cell in soup.select(f"{selector} td[data-column={column}]")]


def lookup(client, identity: str):
    return client.get(BASE, query_string={"identity": identity})


@pytest.mark.parametrize("role", ROLES)
def test_analysts_and_administrators_look_identities_up_readers_and_operators_may_not(cognito, role):
    clients, _ = cognito
    allowed = role in (Role.ADMINISTRATOR, Role.ANALYST)
    for url in ("/studio/cognito", f"{BASE}?identity={ALICE}"):
        assert clients[role].get(url).status_code == (200 if allowed else 403), (role, url)
    menu = [a.get_text(strip=True) for a in page(clients[role].get("/")).select("nav a")]
    assert ("Cognito identities" in menu) == allowed


def test_the_current_state_is_the_sample_connectors_query_per_dataset(cognito):
    clients, database = cognito
    soup = page(lookup(clients[Role.ANALYST], ALICE))
    datasets = [heading.get_text(strip=True) for heading in soup.select("[data-testid=state-dataset]")]
    assert datasets == ["game", "preferences"]
    for dataset in datasets:
        table = f'[data-testid=state][data-dataset="{dataset}"]'
        expected = sql(database, seed_query(ALICE, dataset))
        assert cells(soup, table, "key") == [row[2] for row in expected]
        assert cells(soup, table, "value") == [row[4] for row in expected]
        assert cells(soup, table, "sync_count") == [str(row[3]) for row in expected]
    # Worked by hand: theme's newer change wins, the removed coins are gone.
    assert cells(soup, '[data-testid=state][data-dataset="preferences"]', "value") == ["en", "dark"]
    assert cells(soup, '[data-testid=state][data-dataset="game"]', "key") == ["level"]
    assert cells(soup, '[data-testid=state][data-dataset="game"]', "modified") == ["2026-01-11 12:00:00"]


def test_the_history_lists_every_delivered_change_newest_first(cognito):
    clients, database = cognito
    soup = page(lookup(clients[Role.ADMINISTRATOR], ALICE))
    expected = sql(
        database,
        "select lastmodifieddate, datasetname, key, op, coalesce(value, ''), synccount from cognito_raw_data where identityid = ? "
        "order by lastmodifieddate desc, synccount desc, datasetname, key",
        [ALICE],
    )
    shown = list(
        zip(
            *(cells(soup, "[data-testid=history]", column) for column in ("modified", "dataset", "key", "op", "value", "sync_count")),
            strict=True,
        )
    )
    assert shown == [(f"{t:%Y-%m-%d %H:%M:%S}", d, k, o, v, str(s)) for t, d, k, o, v, s in expected]
    # Worked by hand: theme's two values newest first, and the remove of coins on top.
    assert [row[4] for row in shown if row[2] == "theme"] == ["dark", "light"]
    assert shown[0][1:4] == ("game", "coins", "remove")


def test_an_identity_whose_keys_were_all_removed_shows_its_history_and_no_state(cognito):
    clients, _ = cognito
    response = lookup(clients[Role.ANALYST], GONE)
    soup = page(response)
    assert response.status_code == 200
    assert soup.select("[data-testid=state-empty]")
    assert cells(soup, "[data-testid=history]", "op") == ["remove", "replace"]


def test_identities_are_data_not_sql(cognito):
    clients, _ = cognito
    soup = page(lookup(clients[Role.ANALYST], SQL_LIKE))
    assert cells(soup, '[data-testid=state][data-dataset="preferences"]', "value") == ["y"]
    assert page(lookup(clients[Role.ANALYST], BOB)).select("[data-testid=state]"), "the raw table is still there"


def test_an_unknown_identity_is_a_404_that_names_it(cognito):
    clients, _ = cognito
    response = lookup(clients[Role.ANALYST], "us-east-1:99999999-0000-0000-0000-000000000000")
    assert response.status_code == 404
    message = page(response).select_one("[data-testid=identity-not-found]").get_text(" ", strip=True)
    assert "us-east-1:99999999-0000-0000-0000-000000000000" in message


@pytest.mark.parametrize(
    ("identity", "message"),
    [("x" * 1025, "at most 1024 characters, got 1025"), ("us-east-1:a\x00b", "control characters"), ("a\nb", "control characters")],
)
def test_a_bad_identity_is_a_400_naming_the_field(cognito, identity, message):
    clients, _ = cognito
    response = lookup(clients[Role.ANALYST], identity)
    assert response.status_code == 400
    error = page(response).select_one("[data-testid=cognito-error]")
    assert error["data-field"] == "identity" and message in error.get_text()


def test_no_identity_shows_the_form_only(cognito):
    clients, _ = cognito
    response = clients[Role.ANALYST].get(BASE)
    assert response.status_code == 200
    soup = page(response)
    assert soup.select("[data-testid=cognito-lookup]") and not soup.select("[data-testid=history]")


def test_an_unknown_app_or_one_no_cognito_source_feeds_is_a_404_and_one_not_built_yet_says_why(cognito):
    clients, _ = cognito
    assert clients[Role.ANALYST].get("/studio/nope/cognito?identity=x").status_code == 404
    response = clients[Role.ANALYST].get(f"/studio/{NO_SOURCE}/cognito?identity={ALICE}")
    assert response.status_code == 404 and "no Cognito Streams source feeds app 'blog_web'" in page(response).get_text()
    response = clients[Role.ANALYST].get(f"/studio/{NOT_BUILT}/cognito?identity={ALICE}")
    assert response.status_code in (502, 503)
    assert page(response).select("[data-testid=cognito-unavailable]")


def test_the_index_lists_the_apps_cognito_sources_feed(cognito):
    clients, _ = cognito
    soup = page(clients[Role.ANALYST].get("/studio/cognito"))
    assert [form["action"] for form in soup.select("[data-testid=cognito-lookup]")] == [
        f"/studio/{APP_ID}/cognito",
        f"/studio/{NOT_BUILT}/cognito",
    ]


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: query.name)
@pytest.mark.parametrize("dialect", ["redshift", "athena"])
def test_the_queries_parse_for_the_cloud_warehouses(query, dialect):
    tables = tables_read(parsed_as_sent(query, dialect))
    assert tables and all(db == "shop" and name.startswith("cognito_") for db, name in tables)


def test_a_project_without_a_cognito_source_has_no_cognito_menu_entry(tmp_path):
    app = console_app(write_project(tmp_path))
    add_user(app, "analyst@example.com", [Role.ANALYST])
    client = app.test_client()
    sign_in(client, "analyst@example.com")
    menu = [a.get_text(strip=True) for a in page(client.get("/")).select("nav a")]
    assert "Data Management" in menu and "Cognito identities" not in menu
