"""Fixtures of the console tests: a project in a temporary directory and its console app, a
throwaway PostgreSQL server for the database tests, and a real OpenID provider (oidc_fixture.py)."""

from __future__ import annotations

import pytest

from tests.console.console_helpers import console_app, write_project
from tests.console.oidc_fixture import oidc_provider  # noqa: F401 (a fixture, found by name)
from tests.console.postgres_fixture import console_url, postgres_server, postgresql_url  # noqa: F401 (fixtures, found by name)


@pytest.fixture
def project_file(tmp_path):
    return write_project(tmp_path)


@pytest.fixture
def app(project_file):
    return console_app(project_file)


@pytest.fixture
def client(app):
    return app.test_client()
