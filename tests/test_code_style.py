"""The tree stays as ruff lints and formats it (pyproject.toml [tool.ruff]); CI runs this."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_is_clean(command):
    result = subprocess.run([str(RUFF), *command, "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"ruff {' '.join(command)} (fix with `.venv/bin/ruff {command[0]} .`):\n{result.stdout}{result.stderr}"


SQLFLUFF = Path(sys.executable).with_name("sqlfluff")


def sqlfluff_lint(work_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``sqlfluff lint dbt_project`` (pyproject.toml [tool.sqlfluff]) with dbt's artifacts under ``work_dir``."""
    env = {**os.environ, "DBT_TARGET_PATH": str(work_dir / "target"), "DBT_LOG_PATH": str(work_dir / "logs"), **env}
    return subprocess.run([str(SQLFLUFF), "lint", "dbt_project"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)


def warehouse_after_one_run(work_dir: Path) -> dict[str, str]:
    """A DuckDB warehouse that one dbt run has built from three events: linted against it, the
    models render their incremental branches (sqlfluff lints only the SQL a render contains)."""
    from tests.modeling.dbt_runner import dbt
    from tests.modeling.ods_files import ods_event, write_ods_events

    app, start = "shop_web", 1_701_770_400_000  # 2023-12-05 10:00 UTC
    names = ["_first_visit", "_session_start", "_page_view"]
    write_ods_events(
        work_dir / "ods", app, [ods_event(f"e{i}", "u1", start + i, name, app_id=app, session="s1") for i, name in enumerate(names)]
    )
    env = {
        "CLICKSTREAM_DUCKDB_PATH": str(work_dir / "warehouse.duckdb"),
        "CLICKSTREAM_ODS_ROOT": str(work_dir / "ods"),
        "CLICKSTREAM_APP_ID": app,
    }
    dbt(["run"], work_dir, {}, env=env)
    return env


@pytest.mark.parametrize("build", ["first", "incremental"])
def test_sqlfluff_is_clean(build, tmp_path):
    """Both renders of the dbt models: a first build (empty warehouse) and an incremental run.
    ~20 s each, plus ~8 s for the run that the incremental render needs."""
    if build == "first":
        env = {"CLICKSTREAM_DUCKDB_PATH": str(tmp_path / "empty.duckdb")}
    else:
        env = warehouse_after_one_run(tmp_path)
    result = sqlfluff_lint(tmp_path, env)
    assert result.returncode == 0, (
        f"sqlfluff lint dbt_project ({build} build; `.venv/bin/sqlfluff fix dbt_project` fixes most):\n{result.stdout}"
    )
