"""Fixtures of the console tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.console.dagster_webserver import DagsterWebserver, small_location_webserver


@pytest.fixture(scope="session")
def dagster_webserver(tmp_path_factory) -> Iterator[DagsterWebserver]:
    """One real Dagster webserver for the session (starting one takes ~15 s): tests that switch a
    sensor or a schedule switch it back."""
    with small_location_webserver(tmp_path_factory.mktemp("dagster")) as server:
        yield server
