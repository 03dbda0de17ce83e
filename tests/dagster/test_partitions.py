from datetime import UTC, datetime
from pathlib import Path

from clickstream_dagster.lake.partitions import (
    hour_to_job_arg,
    hour_to_partition_key,
    hourly_partitions,
    partition_key_to_hour,
    raw_hour_dir,
)
from clickstream_dagster.processing.assets import job_arguments
from tests.conftest import make_config

HOUR = datetime(2026, 3, 9, 7, tzinfo=UTC)


def test_partition_key_round_trip():
    assert hour_to_partition_key(HOUR) == "2026-03-09-07:00"
    assert partition_key_to_hour("2026-03-09-07:00") == HOUR
    assert hourly_partitions.has_partition_key("2026-03-09-07:00")


def test_raw_hour_directory_matches_the_contract_layout(tmp_path: Path):
    assert raw_hour_dir(tmp_path, HOUR) == tmp_path / "year=2026/month=03/day=09/hour=07"


def test_job_arguments_carry_every_app_and_the_hour_range(tmp_path: Path):
    config = make_config(tmp_path, pipeline={"processing": {"enrichments": ["plugins.examples.Nothing"]}})
    args = job_arguments(config, HOUR, HOUR.replace(hour=9))
    assert args[args.index("--from") + 1] == hour_to_job_arg(HOUR) == "2026-03-09T07"
    assert args[args.index("--to") + 1] == "2026-03-09T09"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--app-id"] == ["shop_android", "shop_ios", "shop_web"]
    assert args[args.index("--raw-root") + 1] == str(config.raw_root)
    assert args[args.index("--enrichment") + 1] == "plugins.examples.Nothing"
