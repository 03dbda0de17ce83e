"""The dbt project and its manifest. The manifest must exist before the definitions load (the
asset graph is read from it); ``ensure_manifest`` builds it with ``dbt parse`` when missing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from clickstream_project.environment import DBT_PROJECT_DIR


def dbt_executable() -> str:
    # dagster-dbt runs "dbt" from PATH; prefer the one next to this interpreter (the venv's).
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def ensure_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    manifest = project_dir / "target" / "manifest.json"
    if not manifest.exists():
        subprocess.run(
            [dbt_executable(), "parse", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--quiet"],
            check=True,
            cwd=project_dir,
        )
    return manifest


def dbt_project() -> DbtProject:
    ensure_manifest()
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
