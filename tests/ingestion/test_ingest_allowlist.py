"""The app-id allow-list follows the configuration file without a restart (ingestion.allowlist)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest
import yaml
from ingest_helpers import FakeClock

from clickstream_project.config import App, default_config_path, load_config, save_config
from ingestion import allowlist as allowlist_module
from ingestion.allowlist import AppAllowlist
from ingestion.app import create_app
from ingestion.server import IngestionServer, main

EVENTS = [{"event_type": "_page_view", "event_id": "e-1"}]
INTERVAL = 5


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "clickstream.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "project_id": "reload_test",
                "apps": [
                    {"app_id": "shop", "name": "Shop", "platforms": ["Web"]},
                    {"app_id": "blog", "name": "Blog", "platforms": ["Web"]},
                ],
                "pipeline": {"ingestion": {"app_reload_seconds": INTERVAL}},
            }
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def client(config_file, sink, clock):
    return create_app(config_path=config_file, intake=sink, clock=clock).test_client()


def post(client, app_id: str) -> int:
    return client.post(f"/collect?appId={app_id}", json=EVENTS).status_code


def test_a_registered_app_is_accepted_after_the_interval(client, config_file, clock):
    assert post(client, "news") == 403
    config = load_config(config_file)
    save_config(config.with_app(App(app_id="news", name="News", platforms=["Web"])), config_file)

    clock.advance(INTERVAL - 1)
    assert post(client, "news") == 403  # not looked at yet: the check is throttled
    clock.advance(1)
    assert post(client, "news") == 200
    assert post(client, "shop") == 200


def test_a_removed_app_is_refused(client, config_file, clock):
    assert post(client, "blog") == 200
    config = load_config(config_file)
    save_config(config.model_copy(update={"apps": [config.app("shop")]}), config_file)

    clock.advance(INTERVAL)

    assert post(client, "blog") == 403
    assert post(client, "shop") == 200


def test_broken_yaml_keeps_the_last_good_list(client, config_file, clock, caplog):
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(text + "\napps: [unclosed\n", encoding="utf-8")

    clock.advance(INTERVAL)
    with caplog.at_level(logging.ERROR, logger="ingestion.allowlist"):
        assert post(client, "shop") == 200
    assert post(client, "news") == 403
    assert "not valid YAML" in caplog.text

    # Fixed: the next change is picked up.
    config_file.write_text(text.replace("blog", "news"), encoding="utf-8")
    clock.advance(INTERVAL)
    assert post(client, "news") == 200
    assert post(client, "blog") == 403


@pytest.mark.parametrize(
    "breakage",
    [
        lambda path: path.write_text("project_id: reload_test\napps:\n  - app_id: '1bad'\n", encoding="utf-8"),
        lambda path: path.write_text("- just\n- a list\n", encoding="utf-8"),
        lambda path: path.write_bytes(b"project_id: \xff\xfe\n"),
        lambda path: path.unlink(),
    ],
    ids=["invalid config", "not a mapping", "not utf-8", "deleted"],
)
def test_any_unusable_file_keeps_the_last_good_list(client, config_file, clock, breakage):
    breakage(config_file)
    clock.advance(INTERVAL)

    assert post(client, "shop") == 200
    assert post(client, "blog") == 200
    assert post(client, "news") == 403


def test_an_unchanged_file_is_parsed_once_and_a_broken_one_reported_once(config_file, clock, monkeypatch, caplog):
    parses = []
    real_load = allowlist_module.load_config
    monkeypatch.setattr(allowlist_module, "load_config", lambda path: parses.append(path) or real_load(path))
    allowlist = AppAllowlist(["shop"], source=config_file, check_every_seconds=INTERVAL, clock=clock)

    for _ in range(5):
        clock.advance(INTERVAL)
        assert "shop" in allowlist
    assert len(parses) == 1

    config_file.write_text("apps: [", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="ingestion.allowlist"):
        for _ in range(5):
            clock.advance(INTERVAL)
            assert "shop" in allowlist
    assert len(parses) == 2
    assert len([record for record in caplog.records if record.levelno == logging.ERROR]) == 1


def test_without_a_file_the_list_is_fixed(make_app):
    client = make_app().test_client()  # built from an in-memory configuration

    assert post(client, "shop_web") == 200
    assert post(client, "news") == 403


def test_the_default_config_path_is_followed(config_file, sink, clock, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_CONFIG", str(config_file))
    client = create_app(intake=sink, clock=clock).test_client()
    config = load_config(config_file)
    save_config(config.with_app(App(app_id="news", name="News", platforms=["Web"])), config_file)

    clock.advance(INTERVAL)

    assert post(client, "news") == 200


def test_the_interval_comes_from_the_configuration(config_file, sink, clock):
    client = create_app(config_path=config_file, intake=sink, clock=clock, overrides={"app_reload_seconds": 60}).test_client()
    config = load_config(config_file)
    save_config(config.with_app(App(app_id="news", name="News", platforms=["Web"])), config_file)

    clock.advance(INTERVAL)
    assert post(client, "news") == 403
    clock.advance(60)
    assert post(client, "news") == 200


def test_the_command_line_server_follows_the_file_it_loaded(project_config, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr("ingestion.server.run_server", lambda config, **kwargs: calls.append(kwargs["config_path"]))
    options = {"bind": None, "workers": None, "threads": None}

    main(argparse.Namespace(**options, config=tmp_path / "project.yaml"), project_config)
    main(argparse.Namespace(**options, config=None), project_config)

    assert calls == [tmp_path / "project.yaml", default_config_path()]


def test_gunicorn_workers_build_their_app_with_the_file(project_config, config_file, monkeypatch):
    built = []
    monkeypatch.setattr("ingestion.server.create_app", lambda config, **kwargs: built.append(kwargs))

    IngestionServer(project_config, {"workers": 1}, config_file).load()

    assert built == [{"config_path": config_file, "environ": {}}]
