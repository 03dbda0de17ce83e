"""Run the dbt project from the tests, with its artifacts under a temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT

DBT_PROJECT = REPO_ROOT / "dbt_project"


def dbt(args: list[str], work_dir: Path, variables: dict[str, Any], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``dbt <args>`` on the project; artifacts and logs go to ``work_dir``. Fails the calling
    test with dbt's output when dbt fails."""
    executable = Path(sys.executable).with_name("dbt")
    command = [
        str(executable), *args,
        "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
        "--vars", json.dumps(variables),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)
    assert result.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    return result
