"""Fixtures of the console tests: a project in a temporary directory and its console app."""

from __future__ import annotations

import pytest

from tests.console.console_helpers import console_app, write_project


@pytest.fixture
def project_file(tmp_path):
    return write_project(tmp_path)


@pytest.fixture
def app(project_file):
    return console_app(project_file)


@pytest.fixture
def client(app):
    return app.test_client()
