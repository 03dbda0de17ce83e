from pathlib import Path

import pytest

from clickstream_project.config import (
    ConfigError,
    dump_config,
    load_config,
    new_app,
    parse_config,
    save_config,
)
from tests.conftest import REPO_ROOT, make_config


def test_example_config_is_valid():
    config = load_config(REPO_ROOT / "clickstream.example.yaml")
    assert config.project_id == "demo_shop"
    assert config.app_ids == ["shop_android", "shop_ios", "shop_web"]
    assert config.raw_root == REPO_ROOT / "var/example/lake/clickstream/demo_shop/data/buffer"


def test_example_config_shows_the_operations_defaults():
    pipeline = load_config(REPO_ROOT / "clickstream.example.yaml").pipeline
    defaults = make_config(REPO_ROOT).pipeline
    assert pipeline.automation == defaults.automation
    assert pipeline.health == defaults.health
    assert pipeline.alerts == defaults.alerts
    assert load_config(REPO_ROOT / "clickstream.example.yaml").console == make_config(REPO_ROOT).console


def test_operations_defaults_are_micro_batches_and_log_alerts(tmp_path: Path):
    pipeline = make_config(tmp_path).pipeline
    assert pipeline.automation.micro_batch.enabled and not pipeline.automation.processing_schedule.enabled
    assert not pipeline.automation.dim_users.enabled and pipeline.automation.dim_users.select == "dim_users"
    assert pipeline.alerts.log and pipeline.alerts.webhook is None and pipeline.alerts.alarms.run_failure


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path):
    config = make_config(tmp_path)
    assert config.raw_root == tmp_path / "var/lake/clickstream/test_project/data/buffer"
    assert config.ods_root == tmp_path / "var/ods"
    assert config.duckdb_path == tmp_path / "var/warehouse/clickstream.duckdb"
    assert config.dagster_home == tmp_path / "var/dagster"


def test_kafka_fed_lakes_have_the_topic_below_the_prefix(tmp_path: Path):
    kafka = {"type": "kafka", "kafka": {"bootstrap_servers": "broker:9092"}}
    config = make_config(tmp_path, pipeline={"sink": kafka})
    assert config.raw_root == tmp_path / "var/lake/clickstream/test_project/data/buffer/test_project"
    config = make_config(tmp_path, pipeline={"sink": {**kafka, "kafka": {**kafka["kafka"], "topic": "events"}}})
    assert config.raw_root == tmp_path / "var/lake/clickstream/test_project/data/buffer/events"


def test_absolute_paths_are_kept(tmp_path: Path):
    config = make_config(tmp_path, pipeline={"processing": {"ods_path": str(tmp_path / "elsewhere")}})
    assert config.ods_root == tmp_path / "elsewhere"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"project_id": "Bad-Id"}, "project_id: must match ^[a-z][a-z0-9_]{0,126}$ (got 'Bad-Id')"),
        ({"project_id": "a" * 128}, "project_id: must match"),
        ({"apps": [{"app_id": "1app", "name": "x", "platforms": ["Web"]}]}, "apps.0.app_id: must match"),
        ({"apps": [{"app_id": "../etc", "name": "x", "platforms": ["Web"]}]}, "apps.0.app_id: must match"),
        ({"apps": [{"app_id": "a", "name": "x", "platforms": ["Symbian"]}]}, "apps.0.platforms.0: Input should be"),
        ({"apps": [{"app_id": "a", "name": "x", "platforms": []}]}, "apps.0.platforms: List should have at least 1 item"),
        ({"apps": [{"app_id": "a", "name": "x"}]}, "apps.0.platforms: Field required"),
        (
            {"apps": [{"app_id": "Shop", "name": "x", "platforms": ["Web"]}, {"app_id": "shop", "name": "y", "platforms": ["iOS"]}]},
            "duplicate app_id 'shop'",
        ),
        (
            {"pipeline": {"sink": {"buffer_size_mib": 51}}},
            "pipeline.sink.buffer_size_mib: Input should be less than or equal to 50 (got 51)",
        ),
        ({"pipeline": {"sink": {"buffer_interval_seconds": 4}}}, "pipeline.sink.buffer_interval_seconds"),
        (
            {"pipeline": {"sink": {"type": "s3", "s3": {"bucket": "my-lake"}, "buffer_interval_seconds": 59}}},
            "pipeline.sink.buffer_interval_seconds: Value error, must be at least 60 s for sink type 's3'",
        ),
        ({"pipeline": {"sink": {"buffer_size_mib": "ten"}}}, "pipeline.sink.buffer_size_mib: Input should be a valid integer"),
        ({"pipeline": {"sink": {"prefix": "../outside/"}}}, "pipeline.sink.prefix"),
        ({"pipeline": {"sink": {"type": "ftp"}}}, "pipeline.sink.type"),
        ({"pipeline": {"ingestion": {"path": "collect"}}}, "pipeline.ingestion.path"),
        ({"pipeline": {"processing": {"interval_minutes": 45}}}, "interval_minutes must divide 60"),
        ({"pipeline": {"processing": {"interval_minutes": 60, "cron": "0 * * * *"}}}, "either interval_minutes or cron"),
        ({"pipeline": {"modeling": {"engine": "oracle"}}}, "pipeline.modeling.engine"),
        ({"pipeline": {"sinc": {}}}, "pipeline.sinc: unknown field (check the spelling)"),
        ({"pipeline": {"processing": {"cron": "every hour"}}}, "pipeline.processing.cron: Value error, not a valid cron expression"),
        (
            {"pipeline": {"automation": {"dim_users": {"cron": "0 25 * * *"}}}},
            "pipeline.automation.dim_users.cron: Value error, not a valid cron",
        ),
        (
            {"pipeline": {"automation": {"data_cleanup": {"select": ""}}}},
            "pipeline.automation.data_cleanup.select: String should have at least 1 character",
        ),
        (
            {"pipeline": {"automation": {"micro_batch": {"minimum_interval_seconds": 1}}}},
            "pipeline.automation.micro_batch.minimum_interval_seconds: Input should be greater than or equal to 5",
        ),
        (
            {"pipeline": {"health": {"quarantine_max_ratio": 1.5}}},
            "pipeline.health.quarantine_max_ratio: Input should be less than or equal to 1",
        ),
        (
            {"pipeline": {"health": {"ingestion_metrics_urls": ["127.0.0.1:8088/metrics"]}}},
            "pipeline.health.ingestion_metrics_urls: Value error, '127.0.0.1:8088/metrics' must be an http(s) URL",
        ),
        ({"pipeline": {"health": {"spool_check_cron": "*/5 * *"}}}, "pipeline.health.spool_check_cron"),
    ],
)
def test_bad_configuration_names_the_field(tmp_path: Path, overrides: dict, expected: str):
    with pytest.raises(ConfigError) as error:
        make_config(tmp_path, **overrides)
    assert expected in str(error.value)


def test_not_a_mapping_and_not_yaml(tmp_path: Path):
    with pytest.raises(ConfigError, match="expected a mapping at the top level, got list"):
        parse_config([1, 2])
    bad = tmp_path / "bad.yaml"
    bad.write_text("project_id: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "missing.yaml")


def test_base_dir_cannot_be_set_from_the_file():
    with pytest.raises(ConfigError, match="base_dir: unknown field"):
        parse_config({"project_id": "p", "base_dir": "/"})


@pytest.mark.parametrize(
    ("processing", "cron"),
    [
        ({}, "0 * * * *"),
        ({"interval_minutes": 15}, "*/15 * * * *"),
        ({"interval_minutes": 180}, "0 */3 * * *"),
        ({"interval_minutes": 1440}, "0 0 * * *"),
        ({"cron": "5 4 * * *"}, "5 4 * * *"),
    ],
)
def test_processing_interval_as_cron(tmp_path: Path, processing: dict, cron: str):
    assert make_config(tmp_path, pipeline={"processing": processing}).pipeline.processing.schedule_cron == cron


def test_save_and_load_round_trip(tmp_path: Path):
    config = make_config(tmp_path).with_app(new_app(app_id="extra", name="Extra", platforms=["Web"]))
    path = tmp_path / "clickstream.yaml"
    save_config(config, path)
    loaded = load_config(path)
    assert loaded.app_ids == ["shop_android", "shop_ios", "shop_web", "extra"]
    assert loaded == config
    assert "base_dir" not in dump_config(config)


def test_registering_an_existing_app_fails(tmp_path: Path):
    with pytest.raises(ConfigError, match="already registered"):
        make_config(tmp_path).with_app(new_app(app_id="SHOP_WEB", name="dup", platforms=["Web"]))


def test_new_app_errors_name_the_field():
    with pytest.raises(ConfigError, match="app_id: must match"):
        new_app(app_id="bad id", name="x", platforms=["Web"])


def test_an_apps_time_zone_defaults_to_utc_and_is_an_iana_name():
    assert new_app(app_id="a", name="x", platforms=["Web"]).time_zone == "UTC"
    assert new_app(app_id="a", name="x", platforms=["Web"], time_zone="Asia/Kathmandu").time_zone == "Asia/Kathmandu"
    for bad in ("CEST", "+02:00", "Europe/Atlantis", "", "utc/../../etc/passwd"):
        with pytest.raises(ConfigError, match="time_zone: .*is not an IANA time zone name"):
            new_app(app_id="a", name="x", platforms=["Web"], time_zone=bad)


def test_unknown_app_lookup_lists_registered_apps(tmp_path: Path):
    with pytest.raises(KeyError, match="registered apps: shop_android, shop_ios, shop_web"):
        make_config(tmp_path).app("nope")


@pytest.mark.parametrize(
    "cron",
    ["0 2 * * *", "*/15 * * * *", "0 */3 * * *", "5 4 * * mon-fri", "0 0 1 jan *", "0,30 8-18 * * 1-5", "0 0 * * 7",
     "every hour", "0 25 * * *", "*/5 * *", "60 * * * *", "0 0 32 * *", "0 0 * 13 *", "0 0 * * 8", "*/0 * * * *", "0 0 * * foo"],
)  # fmt: skip
def test_cron_check_agrees_with_dagster(cron: str):
    from dagster._utils.schedules import is_valid_cron_string

    from clickstream_project.operations_settings import valid_cron

    try:
        valid_cron(cron)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == is_valid_cron_string(cron)


def test_reading_a_config_does_not_import_dagster():
    # The ingestion service reads the same file; Dagster would cost it seconds and memory.
    import subprocess
    import sys

    probe = "import sys; from clickstream_project.config import load_config; load_config(sys.argv[1]); print('dagster' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe, str(REPO_ROOT / "clickstream.example.yaml")], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert result.stdout.strip() == "False", result.stderr


def test_only_the_local_sink_may_seal_more_often_than_every_minute(tmp_path: Path):
    # A local file can seal every few seconds (fresh micro-batches); S3 and the streams keep the
    # product's 60 s minimum.
    config = make_config(tmp_path, pipeline={"sink": {"buffer_interval_seconds": 5}})
    assert config.pipeline.sink.buffer_interval_seconds == 5
