"""The app factory's settings layers, the probes, and building the configured sink."""

from __future__ import annotations

import gzip
import json

import pytest
import yaml

from ingestion.app import close_app, create_app, get_intake
from ingestion.sinks.local_lake import LocalLakeDestination
from ingestion.spool import Spool

SMALL_BODY = json.dumps([{"event_type": "x"}])
MEDIUM_BODY = json.dumps([{"event_type": "x", "pad": "y" * 3000}])


def test_ping_returns_server_time_in_seconds(client):
    response = client.get("/ping")

    assert response.status_code == 200
    timestamp = response.get_json()["timestamp"]
    assert isinstance(timestamp, float)
    assert 1_600_000_000 < timestamp < 10_000_000_000  # seconds, not milliseconds


def test_health_is_liveness_only(client, sink):
    sink.available = False

    assert client.get("/health").get_json() == {"status": "ok"}


def test_ready_reports_the_sink(client):
    response = client.get("/ready")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "sink": {"type": "recording", "status": "ok", "last_error": None}}


def test_not_ready_when_the_sink_cannot_store(client, sink):
    sink.available = False

    response = client.get("/ready")

    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "sink_unhealthy"
    assert "status: error" in body["message"]
    assert body["sink"]["status"] == "error"
    assert "switched off" not in response.get_data(as_text=True)  # the cause is for the server log


def test_settings_come_from_the_project_configuration(make_app):
    client = make_app().test_client()  # project_config: max_body_bytes defaults to 1 MiB

    assert client.post("/collect?appId=shop_web", data=MEDIUM_BODY).status_code == 200


def test_environment_overrides_the_configuration(make_app, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_INGEST_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("CLICKSTREAM_INGEST_CORS_ORIGINS", "https://a.test, https://*.b.test")
    client = make_app().test_client()

    assert client.post("/collect?appId=shop_web", data=MEDIUM_BODY).status_code == 413
    assert client.post("/collect?appId=shop_web", data=SMALL_BODY).status_code == 200
    preflight = client.options("/collect", headers={"Origin": "https://x.b.test"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://x.b.test"
    assert "Access-Control-Allow-Origin" not in client.options("/collect", headers={"Origin": "http://localhost:3000"}).headers


def test_overrides_win_over_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_INGEST_MAX_BODY_BYTES", "2048")
    client = make_app(max_body_bytes=8192).test_client()

    assert client.post("/collect?appId=shop_web", data=MEDIUM_BODY).status_code == 200


@pytest.mark.parametrize("overrides", [{"max_body_bytes": "lots"}, {"max_body_bytes": 0}, {"path": "collect"}])
def test_bad_settings_fail_when_the_app_is_built(make_app, overrides):
    with pytest.raises(ValueError):
        make_app(**overrides)


def test_without_arguments_the_app_loads_clickstream_config_and_builds_a_spool_shipping_to_the_lake(tmp_path, monkeypatch):
    config_file = tmp_path / "project.yaml"
    config_file.write_text(
        yaml.safe_dump({"project_id": "env_project", "apps": [{"app_id": "web", "name": "Web", "platforms": ["Web"]}]}),
        encoding="utf-8",
    )
    monkeypatch.setenv("CLICKSTREAM_CONFIG", str(config_file))
    app = create_app()
    spool = get_intake(app)
    assert isinstance(spool, Spool) and isinstance(spool.destination, LocalLakeDestination)
    assert spool.root == tmp_path / "var" / "spool"
    lake = spool.destination.root
    assert lake == tmp_path / "var" / "lake" / "clickstream" / "env_project" / "data" / "buffer"

    assert app.test_client().post("/collect?appId=web", data=SMALL_BODY).status_code == 200
    close_app(app)

    [sealed] = lake.glob("year=*/month=*/day=*/hour=*/*.gz")
    [line] = gzip.decompress(sealed.read_bytes()).splitlines()
    assert json.loads(line)["data"] == SMALL_BODY
    assert app.test_client().post("/collect?appId=web", data=SMALL_BODY).status_code == 503
