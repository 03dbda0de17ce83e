"""Fixtures of the console tests: a project in a temporary directory and its console app, a
throwaway PostgreSQL server for the database tests, a real OpenID provider (oidc_fixture.py) and a
real Dagster webserver (dagster_webserver.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.console.console_helpers import console_app, write_project
from tests.console.dagster_webserver import DagsterWebserver, small_location_webserver
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


@pytest.fixture(scope="session")
def dagster_webserver(tmp_path_factory) -> Iterator[DagsterWebserver]:
    """One real Dagster webserver for the session (starting one takes ~15 s): tests that switch a
    sensor or a schedule switch it back."""
    with small_location_webserver(tmp_path_factory.mktemp("dagster")) as server:
        yield server
