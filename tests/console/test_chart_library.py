"""The dashboards' chart library is served by the console itself (works offline, no CDN): the
version pinned in clickstream_console/frontend/package.json, installed by ./dev.sh setup."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO_ROOT

FRONTEND = REPO_ROOT / "clickstream_console" / "frontend"
VENDORED = REPO_ROOT / "clickstream_console" / "static" / "vendor" / "echarts.min.js"


def test_the_console_serves_the_pinned_echarts(client):
    if not VENDORED.is_file():
        pytest.fail(
            f"{VENDORED.relative_to(REPO_ROOT)} is missing: run ./dev.sh setup (npm ci in clickstream_console/frontend)", pytrace=False
        )
    pinned = json.loads((FRONTEND / "package.json").read_text())["dependencies"]["echarts"]
    locked = json.loads((FRONTEND / "package-lock.json").read_text())["packages"]["node_modules/echarts"]["version"]
    assert pinned == locked
    response = client.get("/static/vendor/echarts.min.js")
    assert response.status_code == 200 and response.mimetype in ("text/javascript", "application/javascript")
    assert f'version="{pinned}"' in response.get_data(as_text=True)
