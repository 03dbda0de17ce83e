"""The raw lake's layout (clickstream_contract/raw_lake.py): the one definition ingestion writes
by, Dagster lists by and the Spark job reads by. The literal paths pin DATA_CONTRACT §3."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from clickstream_contract.raw_lake import (
    DEFAULT_PREFIX,
    format_hour,
    hour_path,
    hour_tag,
    is_raw_file,
    parse_hour,
    parse_hour_path,
    parse_hour_tag,
    raw_files_prefix,
    source_files_prefix,
)
from clickstream_project.config import SinkSettings

HOUR = datetime(2026, 3, 9, 7, tzinfo=UTC)


def test_an_hour_directory_is_year_month_day_hour_of_its_utc_hour():
    assert hour_path(HOUR) == "year=2026/month=03/day=09/hour=07"
    # The same instant seen from another zone lands in the same directory.
    assert hour_path(HOUR.astimezone(timezone(timedelta(hours=-8)))) == "year=2026/month=03/day=09/hour=07"
    assert parse_hour_path("year=2026/month=03/day=09/hour=07") == HOUR


@pytest.mark.parametrize(
    "path",
    ["year=2026/month=03/day=09/hour=7", "year=2026/month=13/day=09/hour=07", "year=2026/month=03/day=09/hour=24",
     "year=2026/month=03/day=09/hour=07/extra", "year=2026/month=03/day=09", "2026/03/09/07"],
)  # fmt: skip
def test_other_directories_are_not_hours(path):
    assert parse_hour_path(path) is None


def test_hours_as_people_type_them_and_inside_names():
    assert format_hour(HOUR) == "2026-03-09T07" and parse_hour("2026-03-09T07") == HOUR
    assert hour_tag(HOUR) == "2026030907" and parse_hour_tag("2026030907") == HOUR
    with pytest.raises(ValueError):
        parse_hour("2026-03-09 07")


def test_sealed_raw_files_are_gz_and_not_hidden_or_markers():
    assert is_raw_file("20260309T070000123Z-ingest-1-ab.gz")
    assert not any(map(is_raw_file, [".segment.gz", "_SUCCESS", "_part.gz", "notes.txt", "segment.gz.part", ".segment.gz.tmp"]))


def test_the_default_prefix_and_the_kafka_topic_level():
    assert SinkSettings().prefix == DEFAULT_PREFIX == "clickstream/{project_id}/data/buffer/"
    assert raw_files_prefix("clickstream/p/data/buffer/") == "clickstream/p/data/buffer/"
    assert raw_files_prefix("clickstream/p/data/buffer/", "events") == "clickstream/p/data/buffer/events/"


def test_a_source_writes_one_level_below_the_sources_directory() -> None:
    assert source_files_prefix("clickstream/p/data/buffer/", "cognito") == "clickstream/p/data/buffer/sources/cognito/"
    # Never an hour directory, a dotted name or a second level.
    for bad in ("year=2024", "../x", "a/b", ".hidden", "Cognito", ""):
        with pytest.raises(ValueError, match="source name"):
            source_files_prefix("p/", bad)
