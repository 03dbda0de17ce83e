"""Fixtures for the ingestion service: an app wired to an intake that records what it is given
(the `sink` fixture: what the handlers stored, in memory)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from ingest_helpers import RecordingIntake

from clickstream_project.config import ProjectConfig
from ingestion.app import create_app

SDK_SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk-samples"


@pytest.fixture
def sink() -> RecordingIntake:
    return RecordingIntake()


@pytest.fixture
def make_app(project_config: ProjectConfig, sink: RecordingIntake) -> Callable[..., Flask]:
    def make(**overrides: Any) -> Flask:
        """An app with `pipeline.ingestion` fields overridden (`make(max_body_bytes=2048)`)."""
        app = create_app(project_config, intake=sink, overrides=overrides)
        app.testing = True
        return app

    return make


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def android_events() -> list[dict[str, Any]]:
    return [json.loads((SDK_SAMPLES / "android_event.json").read_text(encoding="utf-8"))]


@pytest.fixture
def ios_events() -> list[dict[str, Any]]:
    return [json.loads((SDK_SAMPLES / "ios_event.json").read_text(encoding="utf-8"))]
