"""One settings model, three layers: the project file, CLICKSTREAM_INGEST_<FIELD>, test overrides.

Every documented variable must take effect where the running service reads it (gunicorn's
options, the worker's app, its spool, the handlers' settings); bad values fail naming the
variable; an unknown CLICKSTREAM_INGEST_* variable is reported, not silently dropped.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from clickstream_project.config import ConfigError, IngestionSettings, load_config
from clickstream_tools import cli
from ingestion import server as server_module
from ingestion.app import close_app, create_app
from ingestion.server import IngestionServer, run_server
from ingestion.settings import ENV_PREFIX, EXTENSION_KEY, layered_config
from ingestion.workers import ReadLimits
from tests.conftest import REPO_ROOT, free_port, make_config

EXAMPLE = REPO_ROOT / "clickstream.example.yaml"
# Where the variables are documented: the README's ingestion section, the example configuration
# (which also lists every key of pipeline.ingestion, each of which is CLICKSTREAM_INGEST_<KEY>),
# the deployment files, and the settings module itself.
DOCUMENTS = [
    REPO_ROOT / "README.md", EXAMPLE, REPO_ROOT / "ingestion" / "settings.py",
    *sorted(path for path in (REPO_ROOT / "deploy").rglob("*") if path.is_file()),
]  # fmt: skip
AUTH = {"issuer": "https://login.example.test/", "audience": "collect", "jwks_url": "https://login.example.test/jwks.json"}


def documented_variables() -> set[str]:
    names: set[str] = set()
    for document in DOCUMENTS:
        names |= set(re.findall(r"\bCLICKSTREAM_INGEST_[A-Z0-9_]+", document.read_text(encoding="utf-8")))
    return names | {ENV_PREFIX + key.upper() for key in example_ingestion_keys()}


def example_ingestion_keys() -> set[str]:
    """The keys of pipeline.ingestion in the example file, commented-out ones included (they
    document optional settings such as auth)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    block = text.split("\n  ingestion:\n", 1)[1].split("\n  sink:\n", 1)[0]
    return set(re.findall(r"^    (?:# )?([a-z_]+):", block, flags=re.MULTILINE))


def samples(tmp_path: Path) -> dict[str, tuple[str, Any]]:
    """Field -> (a non-default value as the environment holds it, what the service then uses)."""
    spool = tmp_path / "elsewhere" / "spool"
    return {
        "path": ("/events", "/events"),
        "public_endpoint": ("https://collect.example.test", "https://collect.example.test"),
        "bind": ("127.0.0.1:18088", "127.0.0.1:18088"),
        "workers": ("3", 3),
        "cors_origins": ("https://a.test, https://*.b.test", "https://x.b.test"),
        "cors_max_age_seconds": ("600", "600"),
        "max_body_bytes": ("2048", 2048),
        "max_decompressed_bytes": ("4096", 4096),
        "max_events_per_request": ("7", 7),
        "header_timeout_seconds": ("11", 11),
        "body_timeout_seconds": ("12", 12),
        "body_min_bytes_per_second": ("501", 501),
        "request_timeout_seconds": ("61", 61),
        "trusted_proxies": ("2", 2),
        "ip_anonymization": ("truncate", "truncate"),
        "app_reload_seconds": ("7", 7),
        "auth": (json.dumps(AUTH), AUTH["issuer"]),
        "spool_dir": (str(spool), spool),
        "spool_max_mib": ("3", 3 * 1024 * 1024),
        "fsync": ("batch", "batch"),
        "fsync_interval_ms": ("250", 0.25),
        "max_sink_outage_seconds": ("120", 120),
        "retry_after_seconds": ("9", 9),
        "metrics": ("false", False),
        "access_log": ("false", False),
    }


def what_the_service_uses(server: IngestionServer, app: Flask) -> dict[str, Any]:
    """Each setting where the running service reads it: gunicorn's configuration (master), the
    worker's app with its routes, CORS policy and spool, and the settings the handlers and the
    worker's request reader (ReadLimits) read."""
    ingestion = app.extensions[EXTENSION_KEY]
    settings, spool = ingestion.settings, ingestion.intake
    routes = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    preflight = ingestion.cors.headers("https://x.b.test", preflight=True)
    limits = ReadLimits.from_settings(settings)
    return {
        "path": routes["collect"],
        # Not used by the service: the tools write it into the SDKs' configuration.
        "public_endpoint": settings.public_endpoint,
        "bind": server.cfg.bind[0],
        "workers": server.cfg.workers,
        "cors_origins": preflight.get("Access-Control-Allow-Origin"),
        "cors_max_age_seconds": preflight.get("Access-Control-Max-Age"),
        "max_body_bytes": settings.max_body_bytes,
        "max_decompressed_bytes": settings.decompressed_limit,
        "max_events_per_request": settings.max_events_per_request,
        "header_timeout_seconds": limits.header_timeout,
        "body_timeout_seconds": limits.body_timeout,
        "body_min_bytes_per_second": limits.body_min_rate,
        "request_timeout_seconds": limits.request_timeout,
        "trusted_proxies": settings.trusted_proxies,
        "ip_anonymization": ingestion.client_addresses.anonymization,
        "app_reload_seconds": settings.app_reload_seconds,
        "auth": ingestion.auth.settings.issuer if ingestion.auth else None,
        "spool_dir": spool.root,
        "spool_max_mib": spool.limits.max_bytes,
        "fsync": spool.writer.state()["fsync"],
        "fsync_interval_ms": spool.writer.fsync_interval_seconds,
        "max_sink_outage_seconds": spool.limits.max_outage_seconds,
        "retry_after_seconds": settings.retry_after_seconds,
        "metrics": "metrics" in routes,
        "access_log": settings.access_log,
    }


def test_every_setting_is_documented_and_every_documented_variable_is_a_setting():
    fields = {ENV_PREFIX + field.upper() for field in IngestionSettings.model_fields}

    assert documented_variables() == fields


def test_every_documented_variable_takes_effect(tmp_path, monkeypatch):
    config = make_config(tmp_path)
    values = samples(tmp_path)
    documented = {name.removeprefix(ENV_PREFIX).lower() for name in documented_variables()}
    assert documented <= values.keys(), "give each new setting a sample value here"
    for field in documented:
        monkeypatch.setenv(ENV_PREFIX + field.upper(), values[field][0])
    started: list[IngestionServer] = []
    monkeypatch.setattr(IngestionServer, "run", lambda self: started.append(self))

    run_server(config)  # the master: stops before gunicorn would fork the workers
    [server] = started
    app = server.load()  # what each worker builds
    try:
        used = what_the_service_uses(server, app)
    finally:
        close_app(app)

    assert {field: used[field] for field in documented} == {field: values[field][1] for field in documented}


def test_each_sample_differs_from_the_default(tmp_path):
    """Otherwise the test above would prove nothing for that setting."""
    config = make_config(tmp_path)
    server = IngestionServer(config, server_module.gunicorn_options(config))
    app = server.load()
    try:
        used = what_the_service_uses(server, app)
    finally:
        close_app(app)

    assert not {field for field, (_, value) in samples(tmp_path).items() if used[field] == value}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("WORKERS", "0", "CLICKSTREAM_INGEST_WORKERS: Input should be greater than or equal to 1 (got '0')"),
        ("WORKERS", "two", "CLICKSTREAM_INGEST_WORKERS: Input should be a valid integer, unable to parse string as an integer (got 'two')"),
        ("WORKERS", "", "CLICKSTREAM_INGEST_WORKERS: Input should be a valid integer"),
        ("MAX_BODY_BYTES", "1.5", "CLICKSTREAM_INGEST_MAX_BODY_BYTES: Input should be a valid integer"),
        ("MAX_BODY_BYTES", "999999999999", "CLICKSTREAM_INGEST_MAX_BODY_BYTES: Input should be less than or equal to 67108864"),
        ("MAX_DECOMPRESSED_BYTES", "67108865", "CLICKSTREAM_INGEST_MAX_DECOMPRESSED_BYTES: Input should be less than or equal to 67108864"),
        ("METRICS", "maybe", "CLICKSTREAM_INGEST_METRICS: Input should be a valid boolean, unable to interpret input (got 'maybe')"),
        ("FSYNC", "sometimes", "CLICKSTREAM_INGEST_FSYNC: Input should be 'batch' or 'interval' (got 'sometimes')"),
        ("PATH", "collect", "CLICKSTREAM_INGEST_PATH: must match"),
        ("CORS_ORIGINS", '{"origin": "x"}', "CLICKSTREAM_INGEST_CORS_ORIGINS: Input should be a valid list"),
        ("CORS_ORIGINS", '["https://a.test"', "CLICKSTREAM_INGEST_CORS_ORIGINS: not valid JSON"),
        ("AUTH", "login.example.test", "CLICKSTREAM_INGEST_AUTH: Input should be a valid dictionary or instance of OidcSettings"),
        ("AUTH", '{"issuer": "x"}', "CLICKSTREAM_INGEST_AUTH.audience: Field required"),
        ("AUTH", '{"issuer": "x", "audience": "y", "jwks_url": "z", "leeway": 5}', "CLICKSTREAM_INGEST_AUTH.leeway: unknown field"),
        ("SPOOL_MAX_MIB", "-1", "CLICKSTREAM_INGEST_SPOOL_MAX_MIB: Input should be greater than or equal to 1 (got '-1')"),
        ("SPOOL_DIR", "spo\tol", "CLICKSTREAM_INGEST_SPOOL_DIR: Value error"),
    ],
)
def test_a_bad_variable_fails_naming_it(tmp_path, variable, value, message):
    with pytest.raises(ConfigError) as failure:
        layered_config(make_config(tmp_path), environ={ENV_PREFIX + variable: value})

    assert message in str(failure.value)


def test_every_bad_variable_is_reported_at_once(tmp_path):
    environ = {f"{ENV_PREFIX}WORKERS": "0", f"{ENV_PREFIX}AUTH": "{", f"{ENV_PREFIX}FSYNC": "never"}

    with pytest.raises(ConfigError) as failure:
        layered_config(make_config(tmp_path), environ=environ)

    assert str(failure.value).splitlines()[0] == "invalid ingestion settings:"
    named = {line.split(":")[0] for line in str(failure.value).splitlines()[1:]}
    assert named == {"  - CLICKSTREAM_INGEST_AUTH", "  - CLICKSTREAM_INGEST_FSYNC", "  - CLICKSTREAM_INGEST_WORKERS"}


def test_the_environment_does_not_change_the_project_file_model(tmp_path):
    config = make_config(tmp_path)

    layered = layered_config(config, environ={f"{ENV_PREFIX}WORKERS": "5"})

    assert layered.pipeline.ingestion.workers == 5 and config.pipeline.ingestion.workers == 2
    assert layered.pipeline.sink == config.pipeline.sink and layered.apps == config.apps


def test_a_list_is_json_or_comma_separated_and_null_unsets(tmp_path):
    config = make_config(tmp_path, pipeline={"ingestion": {"max_decompressed_bytes": 4096}})

    as_json = layered_config(config, environ={f"{ENV_PREFIX}CORS_ORIGINS": '["https://a.test", "https://b.test"]'})
    as_text = layered_config(config, environ={f"{ENV_PREFIX}CORS_ORIGINS": " https://a.test,https://b.test, "})
    unset = layered_config(config, environ={f"{ENV_PREFIX}MAX_DECOMPRESSED_BYTES": "null"})

    assert as_json.pipeline.ingestion.cors_origins == as_text.pipeline.ingestion.cors_origins == ["https://a.test", "https://b.test"]
    assert unset.pipeline.ingestion.max_decompressed_bytes is None


def test_an_unknown_variable_is_a_warning_with_the_likely_name(tmp_path, caplog):
    environ = {f"{ENV_PREFIX}WORKER": "3", f"{ENV_PREFIX}SERVICE_HOST": "10.0.0.1", f"{ENV_PREFIX}max_body_bytes": "2048"}

    with caplog.at_level(logging.WARNING, logger="ingestion.settings"):
        config = layered_config(make_config(tmp_path), environ=environ)

    assert config.pipeline.ingestion == make_config(tmp_path).pipeline.ingestion
    warnings = sorted(record.getMessage() for record in caplog.records)
    assert len(warnings) == 3
    assert warnings[0].startswith("CLICKSTREAM_INGEST_SERVICE_HOST is not an ingestion setting and is ignored")
    assert "did you mean CLICKSTREAM_INGEST_WORKERS?" in warnings[1]
    assert "did you mean CLICKSTREAM_INGEST_MAX_BODY_BYTES?" in warnings[2]


def test_the_server_reports_an_unknown_variable_once_not_once_per_worker(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(f"{ENV_PREFIX}WORKER", "3")
    monkeypatch.setenv(f"{ENV_PREFIX}ACCESS_LOG", "false")
    monkeypatch.setenv(f"{ENV_PREFIX}METRICS", "false")
    started: list[IngestionServer] = []
    monkeypatch.setattr(IngestionServer, "run", lambda self: started.append(self))

    with caplog.at_level(logging.WARNING, logger="ingestion.settings"):
        run_server(make_config(tmp_path))
        apps = [started[0].load(), started[0].load()]  # two workers
    for app in apps:
        close_app(app)

    assert [record.getMessage().split()[0] for record in caplog.records] == ["CLICKSTREAM_INGEST_WORKER"]


def test_overrides_are_field_names_checked_like_the_file(project_config, sink):
    with pytest.raises(ConfigError, match=r"create_app override max_body_bytez: unknown field"):
        create_app(project_config, intake=sink, overrides={"max_body_bytez": 2048})


def test_serve_with_a_bad_variable_exits_with_the_error_before_starting(tmp_path, monkeypatch, capsys):
    config_file = tmp_path / "clickstream.yaml"
    config_file.write_text("project_id: p\n", encoding="utf-8")
    monkeypatch.setenv(f"{ENV_PREFIX}WORKERS", "0")
    monkeypatch.setattr(IngestionServer, "run", lambda self: pytest.fail("the server started"))

    assert cli.main(["serve", "-c", str(config_file)]) == cli.EXIT_USAGE
    assert "CLICKSTREAM_INGEST_WORKERS: Input should be greater than or equal to 1 (got '0')" in capsys.readouterr().err


def test_the_real_server_takes_its_address_workers_path_and_spool_from_the_environment(tmp_path):
    """`clickstream serve` as the image runs it, configured by the environment alone."""
    config_file = tmp_path / "clickstream.yaml"
    config_file.write_text("project_id: env_served\napps: [{app_id: shop, name: Shop, platforms: [Web]}]\n", encoding="utf-8")
    port = free_port()
    spool = tmp_path / "elsewhere" / "spool"
    environ = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        f"{ENV_PREFIX}BIND": f"127.0.0.1:{port}",
        f"{ENV_PREFIX}WORKERS": "3",
        f"{ENV_PREFIX}PATH": "/events",
        f"{ENV_PREFIX}SPOOL_DIR": str(spool),
    }
    log = tmp_path / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "clickstream_tools.cli", "serve", "-c", str(config_file)],
            cwd=REPO_ROOT, env=environ, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_until_ready(f"http://127.0.0.1:{port}", process, log)
        workers = _children_once_booted(process.pid, expected=3)
        response = requests.post(f"http://127.0.0.1:{port}/events?appId=shop", json=[{"event_id": "e-1"}], timeout=10)
        segments_while_running = list((spool / "open").glob("*.part"))
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()

    assert len(workers) == 3
    assert response.status_code == 200 and segments_while_running
    lake_files = list(load_config(config_file).raw_root.glob("year=*/month=*/day=*/hour=*/*.gz"))
    assert [json.loads(line)["path"] for path in lake_files for line in gzip.decompress(path.read_bytes()).splitlines()] == ["/events"]
    assert not (tmp_path / "var" / "spool").exists()


def _wait_until_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if requests.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.05)
    pytest.fail(f"server not ready:\n{log.read_text()}")


def _children_once_booted(pid: int, *, expected: int) -> list[str]:
    # /ready answers as soon as one worker serves; the others may still be starting.
    deadline = time.monotonic() + 30
    while True:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if len(children) >= expected or time.monotonic() > deadline:
            return children
        time.sleep(0.05)
