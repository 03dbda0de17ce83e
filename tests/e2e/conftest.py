"""The demo, run once for every end-to-end test that looks at its result."""

import os
import subprocess
import sys
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
