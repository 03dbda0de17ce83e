from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from clickstream_contract.raw_lake import format_hour
from clickstream_dagster.lake.partitions import first_hour, hour_to_partition_key, hourly_partitions, partition_key_to_hour
from clickstream_dagster.processing.assets import job_arguments
from tests.conftest import make_config

HOUR = datetime(2026, 3, 9, 7, tzinfo=UTC)


def test_partition_key_round_trip():
    assert hour_to_partition_key(HOUR) == "2026-03-09-07:00"
    assert partition_key_to_hour("2026-03-09-07:00") == HOUR
    assert hourly_partitions(date(2024, 1, 1)).has_partition_key("2026-03-09-07:00")


def test_partitions_start_at_the_configured_first_day_and_end_with_the_current_hour():
    partitions = hourly_partitions(date(2026, 3, 8))
    assert first_hour(date(2026, 3, 8)) == datetime(2026, 3, 8, tzinfo=UTC)
    keys = partitions.get_partition_keys(current_time=HOUR + timedelta(minutes=30))
    # 31 closed hours of 8 and 9 March, and the hour still filling (end_offset=1).
    assert keys[0] == "2026-03-08-00:00" and keys[-1] == "2026-03-09-07:00" and len(keys) == 32
    assert not partitions.has_partition_key("2026-03-07-23:00")


def test_job_arguments_carry_every_app_and_the_hour_range(tmp_path: Path):
    config = make_config(tmp_path, pipeline={"processing": {"enrichments": ["plugins.examples.Nothing"]}})
    args = job_arguments(config, HOUR, HOUR.replace(hour=9))
    assert args[args.index("--from") + 1] == format_hour(HOUR) == "2026-03-09T07"
    assert args[args.index("--to") + 1] == "2026-03-09T09"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--app-id"] == ["shop_android", "shop_ios", "shop_web"]
    assert args[args.index("--raw-root") + 1] == str(config.raw_root)
    assert args[args.index("--enrichment") + 1] == "plugins.examples.Nothing"
    # Whole hours, but for the raw-hours sensor's micro-batches (plugins/slices.py).
    assert "--only-new" not in args
    assert "--only-new" in job_arguments(config, HOUR, HOUR, only_new=True)
