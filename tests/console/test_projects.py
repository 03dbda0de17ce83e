"""Projects & apps: the project summary and app list, registering an app through the form (the
project file, the SDK configuration, the audit log), bad input refused field by field with nothing
written, an app's SDK settings, and changes made to the file from outside."""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from clickstream_console.db.models import AuditEntry
from clickstream_console.identity.roles import Role
from clickstream_project.apps import collect_endpoint
from clickstream_project.config import load_config
from tests.console.console_helpers import add_user, console_state_of, csrf_of, sign_in

VALID = {
    "app_id": "blog",
    "name": "Company blog",
    "platforms": ["Web", "iOS"],
    "package_name": "com.example.blog",
    "description": "Posts",
    "time_zone": "Europe/Berlin",
}


@pytest.fixture
def operator(app, client):
    add_user(app, "ops@example.com", [Role.OPERATOR])
    assert sign_in(client, "ops@example.com").status_code == 302
    return client


def _register(client, **fields):
    data = {**fields, "csrf_token": csrf_of(client, "/apps")}
    return client.post("/apps", data=data)


def _sdk_file(project_file: Path, app_id: str) -> Path:
    return load_config(project_file).data_root / "apps" / app_id / "amplifyconfiguration.json"


def _field_error(page: str, field: str) -> str | None:
    match = re.search(rf'data-testid="error-{field}">([^<]*)<', page)
    return match.group(1) if match else None


def _audit_entries(app) -> list[AuditEntry]:
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        return list(session.scalars(select(AuditEntry)))


def test_the_page_summarises_the_project_and_lists_its_apps(operator, project_file):
    page = operator.get("/apps").get_data(as_text=True)
    config = load_config(project_file)
    assert 'data-testid="project-id"><code>console_test<' in page
    assert f'data-testid="ingestion-endpoint"><code>{collect_endpoint(config)}<' in page
    assert 'data-testid="sink-type">local<' in page
    assert 'data-testid="processing-engine">local<' in page and 'data-testid="warehouse-engine">duckdb<' in page
    assert re.findall(r'data-app-id="([^"]+)"', page) == ["shop_web", "shop_android"]
    assert "<code>com.example.shop</code>" in page


def test_registering_an_app_writes_the_project_and_its_sdk_configuration(app, operator, project_file):
    response = _register(operator, **VALID)
    assert response.status_code == 302 and response.headers["Location"] == "/apps/blog"

    registered = load_config(project_file).app("blog")
    assert registered.model_dump() == {**VALID, "app_id": "blog"}
    endpoint = collect_endpoint(load_config(project_file))
    written = json.loads(_sdk_file(project_file, "blog").read_text())
    assert written["analytics"]["plugins"]["awsClickstreamPlugin"]["appId"] == "blog"

    download = operator.get("/apps/blog/amplifyconfiguration.json")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert download.headers["Content-Disposition"] == 'attachment; filename="amplifyconfiguration.json"'
    plugin = download.get_json()["analytics"]["plugins"]["awsClickstreamPlugin"]
    assert (plugin["appId"], plugin["endpoint"]) == ("blog", endpoint)

    [entry] = _audit_entries(app)
    assert (entry.actor, entry.action, entry.target) == ("ops@example.com", "app.register", "blog")
    assert entry.detail["platforms"] == ["Web", "iOS"]

    page = operator.get("/apps/blog").get_data(as_text=True)
    assert "Registered app blog" in page, "the flash message"
    assert f'ClickstreamAnalytics.init({{ appId: "blog", endpoint: "{endpoint}" }});' in html.unescape(page)
    assert 'data-app-id="blog"' in operator.get("/apps").get_data(as_text=True)


# Each bad form, the field it is reported under, and words of the message.
BAD_FORMS = {
    "id with a space": ({**VALID, "app_id": "bad id"}, "app_id", "must match"),
    "id starting with a digit": ({**VALID, "app_id": "1shop"}, "app_id", "must match"),
    "reserved id": ({**VALID, "app_id": "select"}, "app_id", "reserved"),
    "duplicate id in another case": (
        {**VALID, "app_id": "SHOP_WEB"},
        "app_id",
        "already registered in project &#39;console_test&#39; as &#39;shop_web&#39;",
    ),
    "no platform": ({**VALID, "platforms": []}, "platforms", "at least one platform"),
    "unknown platform": ({**VALID, "platforms": ["Web", "Windows"]}, "platforms", "Input should be"),
    "10 kB name": ({**VALID, "name": "n" * 10_000}, "name", "at most 256 characters"),
    "no name": ({key: value for key, value in VALID.items() if key != "name"}, "name", "Field required"),
    "blank id": ({**VALID, "app_id": "   "}, "app_id", "Field required"),
    "oversize package name": ({**VALID, "package_name": "p" * 300}, "package_name", "at most 256 characters"),
    "oversize description": ({**VALID, "description": "d" * 5000}, "description", "at most 2000 characters"),
    "unknown time zone": ({**VALID, "time_zone": "Mars/Olympus_Mons"}, "time_zone", "is not an IANA time zone name"),
    "offset for a time zone": ({**VALID, "time_zone": "+02:00"}, "time_zone", "is not an IANA time zone name"),
}


@pytest.mark.parametrize("case", list(BAD_FORMS))
def test_bad_input_is_refused_under_its_field_and_nothing_is_written(app, operator, project_file, case):
    form, field, words = BAD_FORMS[case]
    before = project_file.read_bytes()
    response = _register(operator, **form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert words in (_field_error(page, field) or ""), page
    assert project_file.read_bytes() == before
    assert not (load_config(project_file).data_root / "apps").exists()
    assert _audit_entries(app) == []
    if field != "name":
        assert f'value="{form["name"]}"' in page, "what was typed is shown again"


def test_a_registration_without_the_csrf_token_is_refused(app, operator, project_file):
    before = project_file.read_bytes()
    response = operator.post("/apps", data=VALID)
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert project_file.read_bytes() == before and _audit_entries(app) == []


def test_an_sdk_file_that_cannot_be_written_leaves_the_project_file_alone(app, operator, project_file):
    data_root = load_config(project_file).data_root
    data_root.mkdir(parents=True, exist_ok=True)
    (data_root / "apps").write_text("a file where the apps directory should be")
    before = project_file.read_bytes()
    response = _register(operator, **VALID)
    assert response.status_code == 500
    assert "cannot write the SDK configuration" in response.get_data(as_text=True)
    assert project_file.read_bytes() == before and _audit_entries(app) == []


def _edit_from_outside(project_file: Path, change) -> None:
    """Rewrite the file the way an editor does (a new file renamed over the old one)."""
    data = yaml.safe_load(project_file.read_text())
    change(data)
    replacement = project_file.with_name("edited.yaml")
    replacement.write_text(yaml.safe_dump(data, sort_keys=False))
    os.replace(replacement, project_file)


def test_a_change_made_to_the_file_from_outside_shows_on_the_next_request(operator, project_file):
    assert 'data-app-id="shop_ios"' not in operator.get("/apps").get_data(as_text=True)

    def add_app_and_move_ingestion(data):
        data["apps"].append({"app_id": "shop_ios", "name": "Shop iOS", "platforms": ["iOS"]})
        data["pipeline"] = {"ingestion": {"public_endpoint": "https://collect.example.com"}}

    _edit_from_outside(project_file, add_app_and_move_ingestion)
    page = operator.get("/apps").get_data(as_text=True)
    assert 'data-app-id="shop_ios"' in page and "https://collect.example.com/collect" in page
    download = operator.get("/apps/shop_ios/amplifyconfiguration.json").get_json()
    assert download["analytics"]["plugins"]["awsClickstreamPlugin"]["endpoint"] == "https://collect.example.com/collect"


def test_a_registration_keeps_a_change_made_from_outside_after_the_form_was_loaded(operator, project_file):
    token = csrf_of(operator, "/apps")
    _edit_from_outside(project_file, lambda data: data["apps"].append({"app_id": "shop_ios", "name": "Shop iOS", "platforms": ["iOS"]}))
    assert operator.post("/apps", data={**VALID, "csrf_token": token}).status_code == 302
    assert load_config(project_file).app_ids == ["shop_web", "shop_android", "shop_ios", "blog"]


def test_an_app_page_shows_its_settings_and_the_web_snippet_only_for_web_apps(operator):
    web = operator.get("/apps/shop_web").get_data(as_text=True)
    assert 'data-testid="app-name">Shop Web<' in web
    assert "ClickstreamAnalytics.init({ appId: &#34;shop_web&#34;, endpoint: &#34;http://127.0.0.1:8088/collect&#34; });" in web
    android = operator.get("/apps/shop_android").get_data(as_text=True)
    assert 'data-testid="web-sdk-snippet"' not in android
    assert 'href="/apps/shop_android/amplifyconfiguration.json"' in android and "<code>com.example.shop</code>" in android


def test_an_unknown_app_is_a_404_that_names_it(operator):
    for path in ("/apps/nope", "/apps/nope/amplifyconfiguration.json"):
        response = operator.get(path)
        assert response.status_code == 404
        assert "No app &#39;nope&#39; is registered in project &#39;console_test&#39;." in response.get_data(as_text=True)
    assert operator.get("/apps/SHOP_WEB").status_code == 404, "ids are looked up as registered"
