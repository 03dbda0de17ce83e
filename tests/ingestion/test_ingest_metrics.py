"""Prometheus metrics (ingestion.metrics) and their wiring into the app and the server.

Values are process-wide and accumulate across tests, so every test compares before and after.
The real multi-worker aggregation under gunicorn is checked by test_ingest_fuzz.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from ingest_helpers import base64_gzip
from prometheus_client.parser import text_string_to_metric_families

from ingestion import metrics
from ingestion.metrics import MULTIPROC_ENV
from ingestion.server import _multiprocess_metrics, gunicorn_options

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS = [{"event_type": "_page_view", "event_id": "e-1"}, {"event_type": "_click", "event_id": "e-2"}]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return samples(response.get_data(as_text=True))


def value(scraped, name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(autouse=True)
def in_memory_metrics(monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    yield
    metrics.configure(False)


def test_requests_events_and_bytes_are_counted(client):
    before = scrape(client)
    gzip_body, json_body = base64_gzip(EVENTS), json.dumps(EVENTS[:1])

    assert client.post("/collect?appId=shop_android&compression=gzip", data=gzip_body).status_code == 200
    assert client.post("/collect?appId=shop_web", data=json_body).status_code == 200
    assert client.post("/collect?appId=no_such_app", data=json_body).status_code == 403
    assert client.post("/collect?appId=shop_web", data="{").status_code == 400
    assert client.get("/nowhere").status_code == 404
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("clickstream_ingest_requests_total", status="200") == 2
    assert delta("clickstream_ingest_requests_total", status="403") == 1
    assert delta("clickstream_ingest_requests_total", status="400") == 1
    assert delta("clickstream_ingest_requests_total", status="404") == 1
    assert delta("clickstream_ingest_events_total", app_id="shop_android") == 2
    assert delta("clickstream_ingest_events_total", app_id="shop_web") == 1
    # Bodies refused before they were read count with their declared length.
    assert delta("clickstream_ingest_request_bytes_total") == len(gzip_body) + 2 * len(json_body) + 1
    assert delta("clickstream_ingest_request_seconds_count") == 5
    assert delta("clickstream_ingest_request_seconds_bucket", le="+Inf") == 5
    assert delta("clickstream_ingest_request_seconds_sum") > 0


def test_app_ids_off_the_allow_list_never_become_labels(client):
    for n in range(20):
        client.post(f"/collect?appId=attacker_{n}", json=EVENTS)
    scraped = scrape(client)

    app_labels = {dict(labels).get("app_id") for (name, labels) in scraped if name == "clickstream_ingest_events_total"}
    assert not any(label and label.startswith("attacker") for label in app_labels)


def test_the_label_cap_holds_even_for_a_careless_caller(client, monkeypatch):
    monkeypatch.setattr(metrics, "MAX_APP_ID_LABELS", 3)
    for n in range(10):
        metrics.observe_request(200, f"app_{n}", 1, 10, 0.001)

    app_labels = {dict(labels)["app_id"] for (name, labels) in scrape(client) if name == "clickstream_ingest_events_total"}
    assert len(app_labels) <= 4  # three real ones and "unknown"
    assert metrics.UNKNOWN_APP in app_labels


def test_probes_and_scrapes_are_not_counted(client):
    before = scrape(client)
    for path in ("/ping", "/health", "/ready", "/metrics"):
        client.get(path)
    after = scrape(client)

    assert sum(value for (name, _), value in after.items() if name == "clickstream_ingest_requests_total") == sum(
        value for (name, _), value in before.items() if name == "clickstream_ingest_requests_total"
    )


def test_a_refused_request_counts_no_events(client, sink):
    sink.available = False
    before = scrape(client)

    assert client.post("/collect?appId=shop_web", json=EVENTS).status_code == 503
    after = scrape(client)

    assert (
        value(after, "clickstream_ingest_requests_total", status="503") - value(before, "clickstream_ingest_requests_total", status="503")
        == 1
    )
    assert value(after, "clickstream_ingest_events_total", app_id="shop_web") == value(
        before, "clickstream_ingest_events_total", app_id="shop_web"
    )


def test_spool_and_sink_metrics(client):
    before = scrape(client)
    metrics.set_spool_depth(4096, 3)
    metrics.observe_shipment("s3", 0.2, True, 10, 2048)
    metrics.observe_shipment("s3", 5.0, False, 0, 0)
    after = scrape(client)

    assert value(after, "clickstream_spool_bytes") == 4096
    assert value(after, "clickstream_spool_segments") == 3
    assert (
        value(after, "clickstream_sink_ship_seconds_count", destination="s3")
        - value(before, "clickstream_sink_ship_seconds_count", destination="s3")
        == 1
    )
    assert (
        value(after, "clickstream_sink_errors_total", destination="s3") - value(before, "clickstream_sink_errors_total", destination="s3")
        == 1
    )
    assert (
        value(after, "clickstream_sink_records_total", destination="s3") - value(before, "clickstream_sink_records_total", destination="s3")
        == 10
    )
    assert (
        value(after, "clickstream_sink_bytes_total", destination="s3") - value(before, "clickstream_sink_bytes_total", destination="s3")
        == 2048
    )


def test_disabled_metrics_are_no_ops_and_not_served(make_app):
    client = make_app(metrics=False).test_client()

    assert not metrics.enabled()
    metrics.observe_request(200, "shop_web", 5, 100, 0.01)
    metrics.observe_shipment("local", 0.1, True, 1, 1)
    metrics.set_spool_depth(1, 1)
    assert metrics.render()[0] == b""
    assert client.get("/metrics").status_code == 404
    assert client.post("/collect?appId=shop_web", json=EVENTS).status_code == 200

    metrics.configure(True)  # what was "observed" while off left no trace
    scraped = samples(metrics.render()[0].decode())
    assert value(scraped, "clickstream_ingest_events_total", app_id="shop_web") == 0
    assert value(scraped, "clickstream_sink_records_total", destination="local") == 0


def test_the_functions_are_safe_before_any_app_exists():
    metrics.configure(False)

    metrics.observe_request(500, None, 0, 0, 0.0)
    metrics.observe_shipment("kafka", 1.0, False, 0, 0)
    metrics.set_spool_depth(0, 0)


def test_metrics_can_be_switched_off_from_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_INGEST_METRICS", "false")

    assert make_app().test_client().get("/metrics").status_code == 404


CHILD = (
    "import os, sys\n"
    "import prometheus_client  # imported before the directory is known, as in the gunicorn master\n"
    "from ingestion import metrics\n"
    "os.environ['PROMETHEUS_MULTIPROC_DIR'] = sys.argv[1]\n"
    "metrics.configure(True)\n"
    "metrics.observe_request(200, 'shop', 3, 100, 0.01)\n"
    "metrics.set_spool_depth(int(sys.argv[2]), 1)\n"
)


def test_multiprocess_values_add_up_across_worker_processes(tmp_path, monkeypatch):
    for depth in ("100", "200"):
        subprocess.run(
            [sys.executable, "-c", CHILD, str(tmp_path), depth], cwd=REPO_ROOT, check=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        )
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    metrics.configure(True)

    scraped = samples(metrics.render()[0].decode())

    assert value(scraped, "clickstream_ingest_requests_total", status="200") == 2
    assert value(scraped, "clickstream_ingest_events_total", app_id="shop") == 6
    assert value(scraped, "clickstream_ingest_request_bytes_total") == 200
    # The spool is one shared directory that each worker measures: the newest measurement wins.
    assert value(scraped, "clickstream_spool_bytes") == 200


def test_the_server_gives_workers_a_fresh_metrics_directory_and_removes_it(monkeypatch):
    master = os.getpid()
    with _multiprocess_metrics(True, master):
        directory = Path(os.environ[MULTIPROC_ENV])
        assert directory.is_dir() and list(directory.iterdir()) == []
    assert MULTIPROC_ENV not in os.environ
    assert not directory.exists()


def test_directories_of_killed_servers_are_removed_at_start(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    orphaned = tmp_path / f"clickstream-metrics-{finished.stdout.strip()}-abc123"
    running = tmp_path / f"clickstream-metrics-{os.getppid()}-def456"
    for directory in (orphaned, running):
        directory.mkdir()

    with _multiprocess_metrics(True, os.getpid()):
        pass

    assert not orphaned.exists()
    assert running.exists()


def test_a_given_metrics_directory_is_emptied_at_start(tmp_path, monkeypatch):
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))

    with _multiprocess_metrics(True, os.getpid()):
        assert list(tmp_path.iterdir()) == []
    assert tmp_path.is_dir()


def test_without_metrics_the_server_sets_up_no_directory():
    with _multiprocess_metrics(False, os.getpid()):
        assert MULTIPROC_ENV not in os.environ


def test_gunicorn_forgets_dead_workers_gauges_and_keeps_its_access_log_off(project_config):
    options = gunicorn_options(project_config)

    assert options["child_exit"] is not None
    assert options["accesslog"] is None
