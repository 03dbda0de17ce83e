"""The console as people use it: `clickstream console` serving on a free port, and headless
Chromium walking its pages (tests/browser/console_driver.mjs) with screenshots and a record of
every console error.

Screenshots go to the test's temporary directory, or to $CLICKSTREAM_SCREENSHOTS when set (to
look at them).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import REPO_ROOT, free_port

BROWSER_DIR = REPO_ROOT / "tests" / "browser"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
STEP_TIMEOUT_MS = 20_000


def require_browser() -> None:
    """Fails (CI must not skip these tests) when `./dev.sh setup` has not installed the pieces."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"Chromium at {CHROMIUM}")
    if not (BROWSER_DIR / "node_modules" / "puppeteer-core").is_dir():
        missing.append("tests/browser/node_modules")
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run ./dev.sh setup", pytrace=False)


@contextmanager
def running_console(project_file: Path, log_file: Path, env: dict[str, str] | None = None, bind: str | None = None) -> Iterator[str]:
    """`clickstream console` on ``bind`` (default a free loopback port); yields its base URL, stops it after."""
    bind = bind or f"127.0.0.1:{free_port()}"
    clickstream = Path(sys.executable).with_name("clickstream")
    with open(log_file, "wb") as log:
        process = subprocess.Popen(
            [str(clickstream), "console", "--config", str(project_file), "--bind", bind],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    url = f"http://{bind}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"clickstream console exited with {process.returncode}:\n{log_file.read_text(errors='replace')}")
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"clickstream console not ready after 60 s:\n{log_file.read_text(errors='replace')}")
            time.sleep(0.1)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class BrowserRun:
    captures: dict[str, list[str]]
    urls: dict[str, str]
    fetches: dict[str, dict[str, Any]]
    # ms from a page's navigation start to an {"elapsed": name} step (bench/dashboards/run.py)
    elapsed: dict[str, float]
    screenshots: list[str]
    console_errors: list[dict[str, str]]
    page_errors: list[dict[str, str]]
    failed_requests: list[dict[str, str]]
    visited: list[str]
    failed_step: dict[str, Any] | None

    def assert_clean(self, expected_statuses: tuple[int, ...] = ()) -> None:
        """Every step ran and no page logged an error (CSP violations and failed loads included),
        except the status lines of pages the test meant to get refused (``expected_statuses``)."""
        assert self.failed_step is None, f"step failed: {self.failed_step}"
        expected = tuple(f"the server responded with a status of {status} " for status in expected_statuses)
        errors = [error for error in self.console_errors if not any(part in error["text"] for part in expected)]
        assert errors == [] and self.page_errors == [], (errors, self.page_errors)
        assert self.failed_requests == [], self.failed_requests


def screenshot_dir(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("CLICKSTREAM_SCREENSHOTS") or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def browse(base_url: str, steps: list[dict[str, Any]], screenshots: Path) -> BrowserRun:
    require_browser()
    settings = {
        "chromium": str(CHROMIUM),
        "baseUrl": base_url,
        "screenshotDir": str(screenshots),
        "timeoutMs": STEP_TIMEOUT_MS,
        "steps": steps,
    }
    # Its own process group: if the driver hangs, Chromium's processes go down with it.
    driver = subprocess.Popen(
        ["node", "console_driver.mjs", json.dumps(settings)],
        cwd=BROWSER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = driver.communicate(timeout=len(steps) * STEP_TIMEOUT_MS / 1000 + 30)
    except subprocess.TimeoutExpired:
        os.killpg(driver.pid, signal.SIGKILL)
        stdout, stderr = driver.communicate()
        pytest.fail(f"the browser driver hung:\n{stderr}")
    if driver.returncode != 0:
        pytest.fail(f"the browser driver failed ({driver.returncode}):\n{stderr}")
    result = json.loads(stdout)
    return BrowserRun(
        captures=result["captures"],
        urls=result["urls"],
        fetches=result["fetches"],
        elapsed=result["elapsed"],
        screenshots=result["screenshots"],
        console_errors=result["consoleErrors"],
        page_errors=result["pageErrors"],
        failed_requests=result["failedRequests"],
        visited=result["visited"],
        failed_step=result.get("failedStep"),
    )


def local_sign_in_steps(email: str, password: str) -> list[dict[str, Any]]:
    return [
        {"goto": "/login"},
        {"fill": "input[name=email]", "value": email},
        {"fill": "input[name=password]", "value": password},
        {"click": "form.stacked button[type=submit]", "navigate": True},
    ]


def sign_out_steps() -> list[dict[str, Any]]:
    return [{"click": "header form button[type=submit]", "navigate": True}]
