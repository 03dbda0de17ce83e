"""A real ``dagster-webserver`` for the console's GraphQL tests: on the small code location of
``dagster_definitions.py``, with a few runs, a failed check and the alerts about them already in
its instance; or on any workspace file (the project's own)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg

from clickstream_console.dagster_api.client import DagsterApiError, DagsterClient
from clickstream_console.dagster_api.locations import code_locations
from clickstream_project.alert_records import FAILED_CHECKS_SENSOR, RUN_FAILURE_SENSOR
from clickstream_project.config import CONFIG_ENV_VAR
from tests.conftest import REPO_ROOT, free_port
from tests.console import dagster_definitions
from tests.console.console_helpers import write_project

LOCATION = "console_test"
DEFINITIONS_FILE = REPO_ROOT / "tests" / "console" / "dagster_definitions.py"
# The small location loads in seconds, the project's in ~20 s; the machine may be busy with other
# test runs.
START_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class DagsterWebserver:
    url: str
    location: str
    home: Path
    log: Path
    # The project file its definitions read, when they read one.
    project_file: Path | None = None

    def client(self, **options) -> DagsterClient:
        return DagsterClient(self.url, **options)


def record_history(instance: dg.DagsterInstance) -> str:
    """Runs of each job (one of them failed, one with a failed check), the freshness checks (one
    stale), and the alert sensors' ticks about them, as the daemon would have run them. Returns the
    failed-checks sensor's cursor, which the daemon would have stored; the fixture stores it
    through GraphQL."""
    defs = dagster_definitions.defs()
    run_sensor, check_sensor = (defs.resolve_sensor_def(name) for name in (RUN_FAILURE_SENSOR, FAILED_CHECKS_SENSOR))

    defs.resolve_job_def("load_orders").execute_in_process(instance=instance)
    defs.resolve_job_def("check_freshness").execute_in_process(instance=instance)
    # The check sensor's first tick starts from now: only failures after it are sent.
    first = check_sensor(dg.build_sensor_context(instance=instance, cursor=None, definitions=defs))
    defs.resolve_job_def("build_orders").execute_in_process(instance=instance, tags={dagster_definitions.OUTCOME_TAG: "fail"})
    second = check_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs))

    failed = defs.resolve_job_def("always_fails").execute_in_process(instance=instance, raise_on_error=False)
    failure = next(event for event in failed.all_events if event.event_type_value == "PIPELINE_FAILURE")
    run_sensor(
        dg.build_run_status_sensor_context(
            sensor_name=run_sensor.name, dagster_instance=instance, dagster_run=failed.dagster_run, dagster_event=failure
        ).for_run_failure()
    )
    return second.cursor


@contextmanager
def small_location_webserver(directory: Path) -> Iterator[DagsterWebserver]:
    """The webserver on ``dagster_definitions.py``, with ``record_history`` in its instance. Its
    alert sensors read the project file ``project_file`` (a console test points a console at the
    same file, so an alarm it switches shows in Dagster after the reload)."""
    home = new_dagster_home(directory)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        check_sensor_cursor = record_history(instance)
    project_file = write_project(directory)
    workspace = directory / "workspace.yaml"
    workspace.write_text(
        f"load_from:\n  - python_file:\n      relative_path: {DEFINITIONS_FILE}\n      location_name: {LOCATION}\n"
        f"      working_directory: {REPO_ROOT}\n"
    )
    with running_webserver(directory, workspace, home, LOCATION, {CONFIG_ENV_VAR: str(project_file)}) as server:
        _store_sensor_cursor(server.client(), check_sensor_cursor)
        yield replace(server, project_file=project_file)


def new_dagster_home(directory: Path) -> Path:
    home = directory / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


@contextmanager
def running_webserver(
    directory: Path, workspace: Path, home: Path, location: str, env: Mapping[str, str] | None = None
) -> Iterator[DagsterWebserver]:
    """``dagster-webserver`` on a free port, until its code location has loaded; stopped after."""
    port = free_port()
    server = DagsterWebserver(url=f"http://127.0.0.1:{port}", location=location, home=home, log=directory / "webserver.log")
    with server.log.open("wb") as log:
        # Its own process group, so stopping it stops its code server too; SIGINT back to the
        # default because a process started in the background inherits it ignored.
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-webserver")), "-h", "127.0.0.1", "-p", str(port), "-w", str(workspace)],
            cwd=directory, env={**os.environ, **(env or {}), "DAGSTER_HOME": str(home)}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
    try:
        _wait_until_loaded(server, process)
        yield server
    finally:
        _stop(process)


def _wait_until_loaded(server: DagsterWebserver, process: subprocess.Popen) -> None:
    client = server.client(timeout=2)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited with {process.returncode}:\n{server.log.read_text()[-3000:]}")
        try:
            if [location.ok for location in code_locations(client)] == [True]:
                return
        except DagsterApiError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"dagster-webserver not ready after {START_TIMEOUT_SECONDS} s:\n{server.log.read_text()[-3000:]}")


def _store_sensor_cursor(client: DagsterClient, cursor: str) -> None:
    selector = {"repositoryName": "__repository__", "repositoryLocationName": LOCATION, "sensorName": FAILED_CHECKS_SENSOR}
    data = client.query(
        "mutation($selector: SensorSelector!, $cursor: String) { setSensorCursor(sensorSelector: $selector, cursor: $cursor) "
        "{ __typename ... on Error { message } } }",
        {"selector": selector, "cursor": cursor},
    )
    assert data["setSensorCursor"]["__typename"] == "Sensor", data


def _stop(process: subprocess.Popen) -> None:
    # The whole group: its code servers too, even when the webserver itself has already exited.
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
