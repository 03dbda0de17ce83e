"""Data Management over HTTP on a hand-made catalogue warehouse (catalogue_fixture.py): who may
view and edit, CSRF, every bad field named and nothing saved, unknown app/event 404, the numbers
on the pages equal SQL on the fixture's tables, the "new" and "undocumented" badges, the audit
log, display_names(); and every catalogue query parses for Redshift and Athena."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select
from sqlalchemy.orm import Session

from clickstream_console.catalogue.names import display_names
from clickstream_console.catalogue.queries import QUERIES, CatalogueEvent
from clickstream_console.catalogue.seed import DEMO_DOCUMENTATION, save_demo_documentation
from clickstream_console.db.models import AuditEntry, EventDefinition
from clickstream_console.identity.roles import Role
from clickstream_project.config import load_config
from tests.console.catalogue_fixture import APP_ID, FORMULA_NAME, NEWEST, SQL_LIKE_NAME, sql, write_catalogue_project
from tests.console.console_helpers import add_user, console_app, console_state_of, csrf_of, sign_in
from tests.console.sent_sql import parsed_as_sent, tables_read

BASE = f"/studio/{APP_ID}/catalogue"
ROLES = (Role.ADMINISTRATOR, Role.ANALYST, Role.ANALYST_READER, Role.OPERATOR)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    directory = tmp_path_factory.mktemp("catalogue")
    app = console_app(write_catalogue_project(directory))
    clients = {}
    for role in ROLES:
        email = f"{role.name.lower()}@example.com"
        add_user(app, email, [role])
        clients[role] = app.test_client()
        sign_in(clients[role], email)
    return app, clients, directory / "catalogue.duckdb"


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def column(soup: BeautifulSoup, table: str, name: str) -> list[str]:
    return [cell.get_text(" ", strip=True) for cell in soup.select(f"[data-testid={table}] td[data-column={name}]")]


def lines(soup: BeautifulSoup, table: str, name: str) -> list[list[str]]:
    """A column whose cells list items one per line."""
    return [list(cell.stripped_strings) for cell in soup.select(f"[data-testid={table}] td[data-column={name}]")]


def event_url(name: str) -> str:
    return f"{BASE}/event?name={name}"


def edit(client, name: str, **fields):
    data = {"display_name": "", "description": "", "csrf_token": csrf_of(client, f"{BASE}/event?name=_page_view"), **fields}
    return client.post(f"{BASE}/event", query_string={"name": name}, data=data)


def stored(app) -> dict[str, tuple[str | None, str | None]]:
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        return {row.event_name: (row.display_name, row.description) for row in session.scalars(select(EventDefinition))}


def audit(app) -> list[AuditEntry]:
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "catalogue.event.save").order_by(AuditEntry.id)))


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.name)
def test_who_may_view(catalogue, role):
    _, clients, _ = catalogue
    expected = 403 if role == Role.OPERATOR else 200
    for path in ("/studio/catalogue", BASE, f"{BASE}/event?name=_page_view", f"{BASE}/user-attributes"):
        assert clients[role].get(path).status_code == expected, path


def test_the_navigation_links_the_area_for_those_who_may_view_it(catalogue):
    _, clients, _ = catalogue
    assert 'href="/studio/catalogue"' in clients[Role.ANALYST_READER].get("/studio").get_data(as_text=True)
    assert "/studio/catalogue" not in clients[Role.OPERATOR].get("/").get_data(as_text=True)


def test_the_events_list_shows_the_catalogue(catalogue):
    _, clients, database = catalogue
    soup = page(clients[Role.ANALYST_READER].get(BASE))
    expected = sql(
        database,
        "select event_name, strftime(first_seen_date, '%Y-%m-%d'), strftime(last_seen_date, '%Y-%m-%d'), events_30d, users_30d, platforms "
        "from clickstream_catalogue_events order by event_name",
    )
    shown = zip(
        *(
            column(soup, "catalogue-events", name)
            for name in ("event_name", "first_seen", "last_seen", "events_30d", "users_30d", "platforms")
        ),
        strict=True,
    )
    assert [(name, first, last, int(events), int(users), platforms) for name, first, last, events, users, platforms in shown] == expected
    # The fixture's sdk_versions, one line per SDK name.
    assert dict(zip(column(soup, "catalogue-events", "event_name"), lines(soup, "catalogue-events", "sdk_versions"), strict=True)) == {
        FORMULA_NAME: ["custom-sdk 2"],
        "_page_view": ["aws-solution-clickstream-sdk 0.12.4, 0.12.5"],
        "add_to_cart": ["aws-solution-clickstream-sdk 0.12.5"],
        SQL_LIKE_NAME: [],
        "purchase": ["aws-solution-clickstream-sdk 0.11.3, 0.12.4"],
    }
    assert (
        "Events, users and SDK versions over the 30 days ending 2026-01-20" in soup.select_one("[data-testid=catalogue-window]").get_text()
    )


def test_sdk_versions_read_grouped_by_sdk_name():
    listed = ("0.9.0", "aws-sdk 0.11.3", "aws-sdk 0.12.4", "custom-sdk", "custom-sdk 2", "My SDK 1.0", "web-sdk 0.12.5")
    event = CatalogueEvent("e", NEWEST, NEWEST, 1, 1, ("Web",), listed, NEWEST)
    # A version sent without a name stays alone; a name sent once without a version joins its versions.
    assert event.sdks_by_name == ["0.9.0", "aws-sdk 0.11.3, 0.12.4", "custom-sdk 2", "My SDK 1.0", "web-sdk 0.12.5"]


def new_events(soup: BeautifulSoup) -> list[str]:
    return [badge.find_parent("tr")["data-name"] for badge in soup.select("[data-testid=new-badge]")]


def test_events_first_seen_since_a_date_are_new(catalogue):
    _, clients, _ = catalogue
    client = clients[Role.ANALYST_READER]
    # Default: 7 days before the newest event date (2026-01-20), that day included.
    assert sorted(new_events(page(client.get(BASE)))) == sorted(["purchase", FORMULA_NAME])
    assert sorted(new_events(page(client.get(BASE, query_string={"new_since": "2026-01-01"})))) == sorted(
        ["purchase", FORMULA_NAME, SQL_LIKE_NAME]
    )
    assert new_events(page(client.get(BASE, query_string={"new_since": "2026-01-21"}))) == []
    refused = client.get(BASE, query_string={"new_since": "last week"})
    assert refused.status_code == 400
    assert page(refused).select_one("[data-testid=catalogue-error]")["data-field"] == "new_since"


def test_the_event_page_shows_its_parameters_and_top_values(catalogue):
    _, clients, database = catalogue
    soup = page(clients[Role.ANALYST_READER].get(event_url("_page_view")))
    assert soup.select_one("[data-testid=event-name]").get_text() == "_page_view"
    assert soup.select_one("[data-testid=events-30d]").get_text() == "120"
    assert soup.select_one("[data-testid=users-30d]").get_text() == "30"
    assert soup.select_one("[data-testid=sdk-versions]").get_text() == "aws-solution-clickstream-sdk 0.12.4, 0.12.5"
    keys = sql(
        database,
        "select property_key, value_types, events_30d from clickstream_catalogue_properties where event_name = '_page_view' order by 1",
    )
    shown = zip(*(column(soup, "event-parameters", name) for name in ("key", "value_types", "events_30d")), strict=True)
    assert [(key, types, int(events)) for key, types, events in shown] == keys
    values = sql(
        database,
        "select property_value, events_30d from clickstream_catalogue_top_values "
        "where event_name = '_page_view' and property_key = '_page_title' order by value_rank",
    )
    cells = soup.select("[data-testid=event-parameters] tr[data-key=_page_title] .top-value")
    assert [(cell["data-value"], int(cell["data-events"])) for cell in cells] == values
    assert soup.select("[data-testid=event-parameters] tr[data-key=_session_id] .top-value") == []
    # Readers see no form.
    assert soup.select("[data-testid=event-form]") == []


def test_the_user_attributes_page(catalogue):
    _, clients, database = catalogue
    soup = page(clients[Role.ANALYST_READER].get(f"{BASE}/user-attributes"))
    expected = sql(
        database,
        "select property_key, value_types, users_30d from clickstream_catalogue_properties where kind = 'user_attribute' order by 1",
    )
    shown = zip(*(column(soup, "user-attributes", name) for name in ("key", "value_types", "users_30d")), strict=True)
    assert [(key, types, int(users)) for key, types, users in shown] == expected
    assert [cell["data-value"] for cell in soup.select("[data-testid=user-attributes] tr[data-key=plan] .top-value")] == ["pro", "free"]


def test_names_that_are_sql_or_formulas_are_data(catalogue):
    _, clients, _ = catalogue
    for name in (SQL_LIKE_NAME, FORMULA_NAME):
        soup = page(clients[Role.ANALYST_READER].get(f"{BASE}/event", query_string={"name": name}))
        assert soup.select_one("[data-testid=event-name]").get_text() == name


def test_unknown_app_or_event_is_404_with_a_clear_message(catalogue):
    _, clients, _ = catalogue
    client = clients[Role.ANALYST]
    assert client.get("/studio/no_such_app/catalogue").status_code == 404
    missing = client.get(f"{BASE}/event", query_string={"name": "no_such_event"})
    assert missing.status_code == 404 and "shop_web has no event &#39;no_such_event&#39; in its catalogue" in missing.get_data(as_text=True)
    assert edit(client, "no_such_event", display_name="X").status_code == 404
    assert "no_such_event" not in stored(catalogue[0])


def test_an_app_without_catalogue_models_says_so(catalogue):
    _, clients, _ = catalogue
    response = clients[Role.ANALYST].get("/studio/shop_android/catalogue")
    assert response.status_code == 502 and page(response).select_one("[data-testid=catalogue-unavailable]") is not None


def test_an_analyst_documents_an_event(catalogue):
    app, clients, _ = catalogue
    client = clients[Role.ANALYST]
    saved = edit(client, "add_to_cart", display_name="  Add to cart ", description="A product added to the cart.")
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/event?name=add_to_cart")
    assert stored(app)["add_to_cart"] == ("Add to cart", "A product added to the cart.")
    soup = page(clients[Role.ANALYST_READER].get(BASE))
    row = soup.select_one("[data-testid=catalogue-events] tr[data-name=add_to_cart]")
    assert row.select_one("td[data-column=display_name] a").get_text() == "Add to cart"
    assert row.select_one("td[data-column=description]").get_text() == "A product added to the cart."
    assert row.select("[data-testid=undocumented-badge]") == []
    undocumented = [badge.find_parent("tr")["data-name"] for badge in soup.select("[data-testid=undocumented-badge]")]
    assert "add_to_cart" not in undocumented and "_page_view" in undocumented
    # A change: the audit entry has both versions.
    edit(client, "add_to_cart", display_name="Add to cart", description="")
    entries = [entry for entry in audit(app) if entry.target == f"{APP_ID}/add_to_cart"]
    assert entries[-1].actor == "analyst@example.com"
    assert entries[-1].detail == {
        "old": {"display_name": "Add to cart", "description": "A product added to the cart."},
        "new": {"display_name": "Add to cart", "description": None},
    }
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        assert display_names(session, APP_ID)["add_to_cart"] == "Add to cart"


def test_an_administrator_edits_an_analyst_reader_does_not(catalogue):
    app, clients, _ = catalogue
    assert edit(clients[Role.ADMINISTRATOR], "purchase", display_name="Purchase").status_code == 302
    assert edit(clients[Role.ANALYST_READER], "purchase", display_name="Bought").status_code == 403
    assert stored(app)["purchase"] == ("Purchase", None)


def test_a_form_without_its_csrf_token_is_refused(catalogue):
    app, clients, _ = catalogue
    response = clients[Role.ANALYST].post(f"{BASE}/event", query_string={"name": "_page_view"}, data={"display_name": "Page view"})
    assert response.status_code == 400 and "_page_view" not in stored(app)


@pytest.mark.parametrize(
    ("field", "value"), [("display_name", "x" * 101), ("description", "y" * 2001)], ids=["display_name", "description"]
)
def test_a_value_too_long_is_refused_naming_the_field(catalogue, field, value):
    app, clients, _ = catalogue
    response = edit(clients[Role.ANALYST], SQL_LIKE_NAME, **{field: value})
    assert response.status_code == 400
    error = page(response).select_one("[data-testid=catalogue-error]")
    assert error["data-field"] == field and "at most" in error.get_text()
    assert SQL_LIKE_NAME not in stored(app)


def test_display_names_fit_exactly_at_the_limits(catalogue):
    app, clients, _ = catalogue
    assert edit(clients[Role.ANALYST], FORMULA_NAME, display_name="x" * 100, description="y" * 2000).status_code == 302
    assert stored(app)[FORMULA_NAME] == ("x" * 100, "y" * 2000)


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: query.name)
@pytest.mark.parametrize("dialect", ["redshift", "athena"])
def test_every_catalogue_query_parses_for_the_cloud_warehouses(query, dialect):
    tables = tables_read(parsed_as_sent(query, dialect))
    assert tables and all(db == "shop" and name.startswith("clickstream_catalogue_") for db, name in tables)


def test_the_demo_documents_its_events_once_per_app(tmp_path):
    project_file = write_catalogue_project(tmp_path)
    app = console_app(project_file)
    config = load_config(project_file)

    assert sorted(save_demo_documentation(config, actor="demo")) == ["shop_android", "shop_web"]
    assert save_demo_documentation(config, actor="demo") == []
    assert set(DEMO_DOCUMENTATION) >= {"_page_view", "_screen_view", "add_to_cart", "purchase"}
    assert stored(app)["_page_view"] == (DEMO_DOCUMENTATION["_page_view"].display_name, DEMO_DOCUMENTATION["_page_view"].description)


def test_the_explore_builder_suggests_the_catalogues_events_and_attributes(catalogue):
    app, clients, database = catalogue
    assert edit(clients[Role.ANALYST], "add_to_cart", display_name="Add to cart").status_code == 302
    soup = page(clients[Role.ANALYST].get(f"/explore/{APP_ID}/new/funnel"))
    schema = json.loads(soup.select_one("[data-role=schema]").string)
    shown = {name: display_name or "" for name, (display_name, _description) in stored(app).items()}
    events = [name for (name,) in sql(database, "select event_name from clickstream_catalogue_events order by event_name")]
    assert schema["events"] == [[name, shown.get(name, "")] for name in events]
    assert ["add_to_cart", "Add to cart"] in schema["events"]
    keys = sql(database, "select distinct kind, property_key from clickstream_catalogue_properties order by kind, property_key")
    prefixes = {"event_parameter": ("event.", "event attribute"), "user_attribute": ("user.", "user attribute")}
    suggested = [[prefixes[kind][0] + key, prefixes[kind][1]] for kind, key in keys]
    assert suggested and schema["columns"][-len(suggested) :] == suggested
    assert ["geo_country", "Country"] in schema["columns"]


def test_the_explore_builder_works_without_a_catalogue(catalogue):
    # shop_android has no catalogue models: nothing is suggested, a typed name still works.
    _, clients, _ = catalogue
    response = clients[Role.ANALYST].get("/explore/shop_android/new/event")
    schema = json.loads(page(response).select_one("[data-role=schema]").string)
    assert response.status_code == 200 and schema["events"] == []
    assert not any(name.startswith(("event.", "user.")) for name, _label in schema["columns"])
