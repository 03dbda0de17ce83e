"""The demo, run once for every end-to-end test that looks at its result."""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    directory = tmp_path_factory.mktemp("demo") / "project"
    clickstream = Path(sys.executable).with_name("clickstream")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run(
        [str(clickstream), "demo", "--dir", str(directory), "--days", "1", "--users", "6", "--seed", "7", "--no-progress"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    return result, directory


@dataclass(frozen=True)
class DemoCopy:
    """A private copy of the demo's project: a test that changes it (registers an app, adds users)
    leaves the shared demo as the other tests expect it."""

    directory: Path

    @property
    def project_file(self) -> Path:
        return self.directory / "clickstream.yaml"

    @property
    def admin_password(self) -> str:
        return (self.directory / "console-admin.txt").read_text().strip()


@pytest.fixture
def demo_copy(demo_run, tmp_path) -> DemoCopy:
    result, demo_directory = demo_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    directory = tmp_path / "demo"
    shutil.copytree(demo_directory, directory)
    return DemoCopy(directory)
