"""Projects & apps and Plugins in headless Chromium, served by `clickstream console`: registering
an app through the form (a refusal first), its SDK settings and download, the plugins with their
secrets masked, and no errors in the browser's console."""

from __future__ import annotations

import json

import pytest

from clickstream_console.audit import MASK
from clickstream_console.identity.roles import Role
from clickstream_project.config import load_config
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir
from tests.console.console_helpers import PASSWORD, add_user, console_app, write_project

SECRET = "sk-live-browser-secret"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    directory = tmp_path_factory.mktemp("console")
    project_file = write_project(
        directory,
        pipeline={
            "processing": {
                "enrichments": [
                    "plugins.enrich_ua.UserAgentEnrichment",
                    {"name": "plugins.enrich_ip.IpEnrichment", "options": {"database": "/data/GeoLite2-City.mmdb", "license_key": SECRET}},
                ]
            }
        },
    )
    app = console_app(project_file)  # migrates the database the server will use
    add_user(app, "ops@example.com", [Role.OPERATOR])
    with running_console(project_file, directory / "console.log") as url:
        yield url, project_file


def test_register_an_app_and_get_its_sdk_settings_in_the_browser(console, tmp_path):
    url, project_file = console
    run = browse(
        url,
        [
            *local_sign_in_steps("ops@example.com", PASSWORD),
            {"goto": "/apps"},
            {"capture": "summary", "selector": "[data-testid=project-summary] td"},
            {"capture": "apps", "selector": "[data-testid=app-row] td:first-child"},
            {"capture": "menu", "selector": "nav.sidebar a[aria-current=page]"},
            {"screenshot": "console-apps"},
            {"fill": "input[name=app_id]", "value": "Shop_Web"},
            {"fill": "input[name=name]", "value": "Shop web, again"},
            {"check": "input[name=platforms][value=Web]"},
            {"click": "form.register button[type=submit]", "navigate": True},
            {"capture": "refused", "selector": "[data-testid^=error-]"},
            {"screenshot": "console-apps-refused"},
            {"fill": "input[name=app_id]", "value": "blog"},
            {"fill": "input[name=name]", "value": "Company blog"},
            {"check": "input[name=platforms][value=Web]"},  # still checked from the refused form
            {"check": "input[name=platforms][value=iOS]"},
            {"fill": "input[name=time_zone]", "value": "Europe/Lisbon"},
            {"fill": "textarea[name=description]", "value": "Posts and news"},
            {"click": "form.register button[type=submit]", "navigate": True},
            {"url": "registered"},
            {"capture": "flash", "selector": "p.flash"},
            {"capture": "settings", "selector": "[data-testid=app-settings] td"},
            {"capture": "snippet", "selector": "[data-testid=web-sdk-snippet]"},
            {"screenshot": "console-app"},
            {"fetch": "download", "path": "/apps/blog/amplifyconfiguration.json"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean(expected_statuses=(400,))
    endpoint = "http://127.0.0.1:8088/collect"
    assert run.captures["summary"] == ["console_test", endpoint, "local", "local", "duckdb"]
    assert run.captures["apps"] == ["shop_web", "shop_android"]
    assert run.captures["menu"] == ["Projects & apps"]
    assert run.captures["refused"] == [
        "app_id 'Shop_Web' is already registered in project 'console_test' as 'shop_web' (app ids are case-insensitive)"
    ]
    assert run.urls["registered"] == f"{url}/apps/blog"
    assert run.captures["flash"] == ["Registered app blog: download its SDK configuration below."]
    assert run.captures["settings"] == ["blog", "Company blog", "iOS Web", "Europe/Lisbon", "none", "Posts and news"]
    assert f'ClickstreamAnalytics.init({{ appId: "blog", endpoint: "{endpoint}" }});' in run.captures["snippet"][0]
    download = run.fetches["download"]
    assert download["status"] == 200 and download["headers"]["content-disposition"] == 'attachment; filename="amplifyconfiguration.json"'
    assert json.loads(download["body"])["analytics"]["plugins"]["awsClickstreamPlugin"] == {
        "appId": "blog",
        "endpoint": endpoint,
        "isCompressEvents": True,
        "autoFlushEventsInterval": 10000,
        "isTrackAppExceptionEvents": False,
    }
    assert "blog" in load_config(project_file).app_ids


def test_the_plugins_page_in_the_browser(console, tmp_path):
    url, _ = console
    run = browse(
        url,
        [
            *local_sign_in_steps("ops@example.com", PASSWORD),
            {"goto": "/plugins"},
            {"capture": "plugins", "selector": "[data-testid=plugin] h2 code"},
            {"capture": "summaries", "selector": "[data-testid=plugin-summary]"},
            {"capture": "options", "selector": "[data-testid=plugin-options] td"},
            {"capture": "page", "selector": "main"},
            {"screenshot": "console-plugins"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    assert run.captures["plugins"] == [
        "plugins.sdk_transformer.SdkTransformer",
        "plugins.enrich_ua.UserAgentEnrichment",
        "plugins.enrich_ip.IpEnrichment",
    ]
    assert run.captures["summaries"][0] == "Maps events sent by the official Clickstream SDKs (Android, Swift, Web)."
    assert run.captures["summaries"][2] == "Fills geo from _ip with a MaxMind-format City database."
    assert run.captures["options"] == ["database", "/data/GeoLite2-City.mmdb", "license_key", MASK]
    assert SECRET not in run.captures["page"][0]
