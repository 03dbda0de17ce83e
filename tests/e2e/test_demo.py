"""End to end through real processes: HTTP ingestion (gunicorn) → Dagster materialisation
(Spark job, dbt on DuckDB) → the views, checked against what the generator sent."""

import duckdb
import pytest

from clickstream_project.config import load_config

pytestmark = [pytest.mark.e2e, pytest.mark.spark]


def test_demo_exits_zero_and_every_app_matches(demo_run):
    result, _ = demo_run
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("shop_")]
    assert len(rows) == 3 and all(line.endswith("OK") for line in rows), result.stdout


def test_views_are_queryable_per_app_schema(demo_run):
    result, directory = demo_run
    assert result.returncode == 0
    config = load_config(directory / "clickstream.yaml")
    with duckdb.connect(str(config.duckdb_path), read_only=True) as connection:
        for app_id in config.app_ids:
            platforms = {row[0] for row in connection.execute(f'select distinct platform from "{app_id}".ods_events').fetchall()}
            assert platforms == set(config.app(app_id).platforms)
            engaged, bounced, total = connection.execute(
                f'select sum(engaged_session), sum(bounced_session), count(*) from "{app_id}".clickstream_session_view'
            ).fetchone()
            assert total > 0 and engaged + bounced == total


def test_runs_are_recorded_in_the_dagster_instance(demo_run):
    import dagster as dg

    result, directory = demo_run
    assert result.returncode == 0
    instance = dg.DagsterInstance.from_config(str(directory / "dagster"))
    try:
        jobs = {run.job_name for run in instance.get_runs()}
        assert {"process_raw_hours", "build_warehouse"} <= jobs
        assert instance.get_latest_materialization_event(dg.AssetKey(["shop_web", "clickstream_session_view"])) is not None
    finally:
        instance.dispose()


def test_dbt_builds_leave_no_target_directories_behind(demo_run):
    """Each build's target directory (~5 MB) is removed once it succeeded; what stays is one
    partial parse per app, which the next build of that app starts from."""
    from clickstream_dagster.modeling.invocations import invocations_root, partial_parse_cache
    from clickstream_project.environment import DBT_PROJECT_DIR

    result, directory = demo_run
    assert result.returncode == 0
    started = (directory / "clickstream.yaml").stat().st_mtime
    root = invocations_root(DBT_PROJECT_DIR)
    leftovers = [path.name for path in root.glob("build-*") if path.stat().st_mtime >= started] if root.exists() else []
    assert leftovers == []
    for app_id in load_config(directory / "clickstream.yaml").app_ids:
        assert partial_parse_cache(DBT_PROJECT_DIR, f"build-{app_id}").stat().st_mtime >= started


def test_the_demo_prints_the_console_and_its_administrator_can_sign_in(demo_run):
    from clickstream_console.app import create_app
    from tests.console.console_helpers import sign_in

    result, directory = demo_run
    assert result.returncode == 0
    assert "console:   http://127.0.0.1:8090  (sign in as admin@example.com" in result.stdout
    password_file = directory / "console-admin.txt"
    assert password_file.stat().st_mode & 0o077 == 0, "only its owner may read the password"
    client = create_app(directory / "clickstream.yaml").test_client()
    assert sign_in(client, "admin@example.com", password_file.read_text().strip()).status_code == 302
    assert 'data-testid="home-roles">Administrator<' in client.get("/").get_data(as_text=True)
