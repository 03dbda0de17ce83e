"""Run the dbt project from the tests, with its artifacts under a temporary directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT

DBT_PROJECT = REPO_ROOT / "dbt_project"
OFFLINE_COMPILE = Path(__file__).with_name("offline_compile")


def dbt(
    args: list[str], work_dir: Path, variables: dict[str, Any], env: dict[str, str] | None = None, project_dir: Path = DBT_PROJECT
) -> subprocess.CompletedProcess:
    """``dbt <args>`` on the project; artifacts and logs go to ``work_dir``. Fails the calling
    test with dbt's output when dbt fails."""
    executable = Path(sys.executable).with_name("dbt")
    command = [
        str(executable), *args,
        "--project-dir", str(project_dir), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
        "--vars", json.dumps(variables),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)
    assert result.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    return result


def offline_compile_project(work_dir: Path) -> Path:
    """A project that compiles dbt_project/ without a warehouse (offline_compile/dbt_project.yml):
    a copy of offline_compile/ with dbt_project/ linked in as its package."""
    project = work_dir / "offline_compile"
    shutil.copytree(OFFLINE_COMPILE, project)
    (project / "dbt_packages").mkdir()
    (project / "dbt_packages" / "clickstream").symlink_to(DBT_PROJECT, target_is_directory=True)
    return project
