"""Fixtures for the console's tests."""

from tests.console.postgres_fixture import console_url, postgres_server, postgresql_url  # noqa: F401 (fixtures, found by name)
