"""The official web SDK (npm @aws/clickstream-web) in headless Chromium, against the real server.

A page served from its own origin loads the SDK, records events the way a site would, and sends
them to `clickstream serve` across origins: a CORS preflight, then a credentialed POST of a plain
JSON array. After the server has stopped gracefully, the raw records in the lake must decode to
exactly the events the SDK says it recorded. The same page served from an origin the
configuration does not list must get no CORS headers, so the browser sends nothing.

Needs Chromium and tests/browser/node_modules; `./dev.sh setup` installs both.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from clickstream_project.config import load_config
from tests.conftest import free_port

pytestmark = pytest.mark.browser

BROWSER_DIR = Path(__file__).resolve().parent
REPO_ROOT = BROWSER_DIR.parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SDK_PACKAGE = BROWSER_DIR / "node_modules" / "@aws" / "clickstream-web" / "package.json"
# One app per scenario, all registered, so the only thing that can keep the blocked page's events
# out of the lake is the browser enforcing CORS.
APPS = {"immediate": "web_immediate", "batch": "web_batch", "blocked": "web_blocked"}
DRIVER_TIMEOUT_MS = 20_000


@dataclass
class SdkRun:
    page_origin: str
    sdk_version: str
    scenarios: dict[str, dict[str, Any]]
    raw_records: list[dict[str, Any]]

    def records_for(self, scenario: str) -> list[dict[str, Any]]:
        return [record for record in self.raw_records if record["appId"] == APPS[scenario]]


@pytest.fixture(scope="module")
def sdk_run(tmp_path_factory: pytest.TempPathFactory) -> SdkRun:
    """One browser session for the module: three page loads against one server, then its lake."""
    sdk_version = _require_toolchain()
    _bundle_sdk()
    tmp_path = tmp_path_factory.mktemp("web_sdk")
    with _static_site() as page_origin, _static_site() as blocked_origin:
        config_file = _write_config(tmp_path, cors_origins=[page_origin])
        server = IngestionServer(config_file, tmp_path / "server.log")
        try:
            server.wait_until_ready()
            endpoint = f"{server.url}/collect"
            summary = _drive_browser(
                endpoint,
                [
                    _scenario("immediate", page_origin, endpoint),
                    _scenario("batch", page_origin, endpoint, sendMode="Batch"),
                    _scenario("blocked", blocked_origin, endpoint),
                ],
                server,
            )
        finally:
            exit_code = server.stop()
    assert exit_code == 0, server.log_text()
    return SdkRun(
        page_origin=page_origin,
        sdk_version=sdk_version,
        scenarios={scenario["name"]: scenario for scenario in summary["scenarios"]},
        raw_records=stored_raw_records(load_config(config_file).raw_root),
    )


def test_the_sdk_ran_every_scenario_to_the_end(sdk_run: SdkRun) -> None:
    for name, scenario in sdk_run.scenarios.items():
        assert not scenario["timedOut"], f"{name}: the SDK did not finish sending within {DRIVER_TIMEOUT_MS} ms"
        assert scenario["pageErrors"] == [], name
        types = [event["event_type"] for event in scenario["recordedEvents"]]
        # What the page does, plus what the SDK adds on a first visit by itself.
        assert {"_first_open", "_session_start", "_profile_set", "add_to_cart", "checkout_started"} <= set(types)
        assert types.count("_page_view") == 2, types
        assert {event["sdk_version"] for event in scenario["recordedEvents"]} == {sdk_run.sdk_version}


@pytest.mark.parametrize("name", ["immediate", "batch"])
def test_every_post_follows_a_preflight_that_allows_the_page_origin(sdk_run: SdkRun, name: str) -> None:
    posts = sdk_run.scenarios[name]["posts"]
    assert posts
    for post in posts:
        preflight = post["preflight"]
        assert preflight is not None, "the SDK's JSON POST needs a preflight; the browser sent none"
        assert preflight["method"] == "OPTIONS"
        assert preflight["requestHeaders"]["origin"] == sdk_run.page_origin
        assert preflight["requestHeaders"]["access-control-request-method"] == "POST"
        assert preflight["status"] == 204
        assert _cors_headers(preflight)["access-control-allow-origin"] == sdk_run.page_origin
        assert _cors_headers(preflight)["access-control-allow-credentials"] == "true"

        assert post["status"] == 200, post
        assert post["requestHeaders"]["origin"] == sdk_run.page_origin
        assert post["requestHeaders"]["content-type"].startswith("application/json")
        assert _cors_headers(post)["access-control-allow-origin"] == sdk_run.page_origin
        assert _cors_headers(post)["access-control-allow-credentials"] == "true"
    assert sdk_run.scenarios[name]["otherRequests"] == []


def test_immediate_mode_sends_one_event_per_request(sdk_run: SdkRun) -> None:
    scenario = sdk_run.scenarios["immediate"]
    assert [len(json.loads(post["body"])) for post in scenario["posts"]] == [1] * len(scenario["recordedEvents"])


def test_batch_mode_sends_several_events_per_request(sdk_run: SdkRun) -> None:
    scenario = sdk_run.scenarios["batch"]
    assert len(scenario["posts"]) < len(scenario["recordedEvents"])


@pytest.mark.parametrize("name", ["immediate", "batch"])
def test_stored_records_decode_to_exactly_the_recorded_events(sdk_run: SdkRun, name: str) -> None:
    scenario = sdk_run.scenarios[name]
    records = sdk_run.records_for(name)
    # One raw record per acknowledged POST: no preflight, no retry, nothing lost.
    assert len(records) == len(scenario["posts"])
    assert {record["method"] for record in records} == {"POST"}

    sent_bodies = {_path_and_query(post["url"]): post["body"] for post in scenario["posts"]}
    stored_events = []
    for record in records:
        assert record["platform"] == "Web"
        assert record["compression"] is None
        assert "HeadlessChrome" in record["ua"]
        # The body exactly as the browser sent it, for the request URI it was sent to.
        assert record["data"] == sent_bodies[record["uri"]]
        stored_events.extend(json.loads(record["data"]))

    stored_by_id = {event["event_id"]: event for event in stored_events}
    assert len(stored_by_id) == len(stored_events), "an event was stored twice"
    recorded_by_id = {event["event_id"]: event for event in scenario["recordedEvents"]}
    assert stored_by_id == recorded_by_id


@pytest.mark.parametrize("name", ["immediate", "batch"])
def test_attribute_and_user_value_types_survive_storage(sdk_run: SdkRun, name: str) -> None:
    events = [event for record in sdk_run.records_for(name) for event in json.loads(record["data"])]
    cart = next(event for event in events if event["event_type"] == "add_to_cart")
    custom = {key: value for key, value in cart["attributes"].items() if not key.startswith("_")}
    assert custom == {"product": 'Mug "Ceramic" 350ml', "quantity": 2, "price": 12.5, "gift": False, "note": "héllo ✓"}
    assert cart["items"] == [{"id": "sku-1", "name": "Mug", "price": 12.5, "quantity": 2, "category": "kitchen"}]
    assert cart["user"]["_user_id"]["value"] == "user-0042"

    # setUserId and setUserAttributes each record a _profile_set; the second carries every attribute.
    profile = next(event for event in events if event["event_type"] == "_profile_set" and len(event["user"]) > 2)
    values = {key: attribute["value"] for key, attribute in profile["user"].items()}
    assert {key: values[key] for key in ("_user_id", "plan", "age", "score", "newsletter")} == {
        "_user_id": "user-0042",
        "plan": "pro",
        "age": 37,
        "score": 4.75,
        "newsletter": True,
    }
    assert type(values["age"]) is int and type(values["score"]) is float


def test_an_origin_not_listed_gets_no_cors_headers_and_nothing_is_stored(sdk_run: SdkRun) -> None:
    scenario = sdk_run.scenarios["blocked"]
    assert scenario["recordedEvents"]
    # The SDK tries each event three times, each attempt a fresh preflight the browser refuses.
    assert scenario["sendFailures"] == len(scenario["recordedEvents"])
    assert len(scenario["posts"]) == 3 * len(scenario["recordedEvents"])
    for post in scenario["posts"]:
        assert post["preflight"]["status"] == 204
        assert _cors_headers(post["preflight"]) == {}
        assert post["status"] is None, "the browser sent a POST the server never allowed"
        assert post["corsError"] == "PreflightMissingAllowOriginHeader"
    assert sdk_run.records_for("blocked") == []


def stored_raw_records(raw_root: Path) -> list[dict[str, Any]]:
    """Every raw record in the lake's hour directories (gzip NDJSON), in no particular order."""
    return [
        json.loads(line)
        for path in sorted(raw_root.glob("year=*/month=*/day=*/hour=*/*.gz"))
        for line in gzip.decompress(path.read_bytes()).splitlines()
        if line.strip()
    ]


class IngestionServer:
    """`clickstream serve` as an operator runs it, on a free port."""

    def __init__(self, config_file: Path, log_file: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self._log_file = log_file
        clickstream = Path(sys.executable).with_name("clickstream")
        with open(log_file, "wb") as log:
            self.process = subprocess.Popen(
                [str(clickstream), "serve", "--config", str(config_file), "--bind", self.url.removeprefix("http://"), "--workers", "2"],
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"clickstream serve exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                if requests.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        pytest.fail(f"clickstream serve not ready after 30 s:\n{self.log_text()}")

    def stop(self) -> int:
        """SIGTERM and wait: once the process has exited, every acknowledged request is in the lake."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def log_text(self) -> str:
        return self._log_file.read_text(errors="replace")


def _require_toolchain() -> str:
    """The installed SDK version; fails (CI must not skip this) when the setup step was not run."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"Chromium at {CHROMIUM}")
    if shutil.which("node") is None:
        missing.append("node on PATH")
    if not SDK_PACKAGE.is_file():
        missing.append(f"{BROWSER_DIR.relative_to(REPO_ROOT)}/node_modules")
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run ./dev.sh setup", pytrace=False)
    return json.loads(SDK_PACKAGE.read_text(encoding="utf-8"))["version"]


def _bundle_sdk() -> None:
    # Built beside the page and renamed into place, so a concurrent run never serves half a file.
    esbuild = BROWSER_DIR / "node_modules" / ".bin" / "esbuild"
    partial_bundle = BROWSER_DIR / "build" / f"sdk.{os.getpid()}.js"
    result = subprocess.run(
        [str(esbuild), "entry.js", "--bundle", "--format=iife", "--log-level=warning", f"--outfile={partial_bundle}"],
        cwd=BROWSER_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"esbuild failed:\n{result.stderr}"
    partial_bundle.replace(BROWSER_DIR / "build" / "sdk.js")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _static_site() -> Iterator[str]:
    """tests/browser served on a port of its own: for the browser, each port is another origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(BROWSER_DIR)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _write_config(tmp_path: Path, *, cors_origins: list[str]) -> Path:
    config_file = tmp_path / "clickstream.yaml"
    config = {
        "project_id": "web_sdk_check",
        "data_dir": str(tmp_path / "data"),
        "apps": [{"app_id": app_id, "name": app_id, "platforms": ["Web"]} for app_id in APPS.values()],
        "pipeline": {"ingestion": {"cors_origins": cors_origins}},
    }
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    return config_file


def _scenario(name: str, origin: str, endpoint: str, **settings: str) -> dict[str, str]:
    # Settings go in the fragment, which the page reads and the browser never sends.
    fragment = "&".join(f"{key}={value}" for key, value in {"appId": APPS[name], "endpoint": endpoint, **settings}.items())
    return {"name": name, "url": f"{origin}/index.html#{fragment}"}


def _drive_browser(endpoint: str, scenarios: list[dict[str, str]], server: IngestionServer) -> dict[str, Any]:
    settings = {"chromium": str(CHROMIUM), "collectUrl": endpoint, "timeoutMs": DRIVER_TIMEOUT_MS, "scenarios": scenarios}
    # Its own process group: if the driver hangs, Chromium's processes go down with it.
    driver = subprocess.Popen(
        ["node", "driver.mjs", json.dumps(settings)],
        cwd=BROWSER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = driver.communicate(timeout=len(scenarios) * DRIVER_TIMEOUT_MS / 1000 + 30)
    except subprocess.TimeoutExpired:
        os.killpg(driver.pid, signal.SIGKILL)
        stdout, stderr = driver.communicate()
        pytest.fail(f"the browser driver hung:\n{stderr}\nserver log:\n{server.log_text()}")
    if driver.returncode != 0:
        pytest.fail(f"the browser driver failed ({driver.returncode}):\n{stderr}\nserver log:\n{server.log_text()}")
    return json.loads(stdout)


def _cors_headers(exchange: dict[str, Any]) -> dict[str, str]:
    return {name: value for name, value in exchange["responseHeaders"].items() if name.startswith("access-control-")}


def _path_and_query(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]
