"""The raw lake in S3 (moto): the same hours and fingerprints as the same files on disk, so the
sensor, the schedule and the raw asset work unchanged on the scale-out shape."""

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from clickstream_dagster.lake.partitions import hour_to_partition_key, raw_hour_dir
from clickstream_dagster.lake.resources import RawLakeResource, S3RawLakeResource, raw_lake_for
from clickstream_dagster.lake.sensors import raw_hours_sensor
from tests.conftest import make_config

BUCKET = "clickstream-lake"  # created by the s3 fixture (conftest.py)
PREFIX = "clickstream/test_project/data/buffer/"
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def put_both(s3, local_root: Path, hour: datetime, name: str, lines: int) -> None:
    """The same raw file in the bucket and in a local lake."""
    body = gzip.compress(b'{"data": "[]"}\n' * lines, mtime=0)
    key = f"{PREFIX}year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/{name}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    directory = raw_hour_dir(local_root, hour)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(body)


def test_s3_listing_matches_the_local_listing_of_the_same_files(s3, tmp_path):
    hours = [NOW - timedelta(hours=30), NOW - timedelta(hours=2), NOW]  # across a day boundary
    for index, hour in enumerate(hours):
        put_both(s3, tmp_path, hour, f"part-{index}-a.gz", lines=index + 1)
        put_both(s3, tmp_path, hour, f"part-{index}-b.gz", lines=3)
    # Neither a sealed raw file nor in the layout: ignored by both.
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}year={NOW:%Y}/month={NOW:%m}/day={NOW:%d}/hour={NOW:%H}/notes.txt", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}_inflight/x.gz", Body=b"x")

    remote = S3RawLakeResource(raw_root=f"s3://{BUCKET}/{PREFIX}", region="eu-west-1")
    local = RawLakeResource(raw_root=str(tmp_path))
    since = NOW - timedelta(hours=72)
    assert remote.hours(since, NOW) == local.hours(since, NOW)
    assert [listing.hour for listing in remote.hours(since, NOW)] == hours
    assert remote.hour(hours[1]) == local.hour(hours[1])
    assert remote.hour(NOW - timedelta(hours=5)).files == 0
    assert remote.hours(NOW - timedelta(hours=3), NOW - timedelta(hours=1)) == local.hours(
        NOW - timedelta(hours=3), NOW - timedelta(hours=1)
    )


def test_sensor_requests_hours_found_in_s3(s3, tmp_path):
    put_both(s3, tmp_path, NOW - timedelta(hours=1), "a.gz", lines=2)
    lake = S3RawLakeResource(raw_root=f"s3://{BUCKET}/{PREFIX}", region="eu-west-1")
    instance = dg.DagsterInstance.ephemeral()
    first = raw_hours_sensor(dg.build_sensor_context(instance=instance, resources={"raw_lake": lake}))
    assert [r.partition_key for r in first.run_requests] == [hour_to_partition_key(NOW - timedelta(hours=1))]
    again = raw_hours_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor, resources={"raw_lake": lake}))
    assert again.run_requests == []


def test_the_lake_listed_follows_the_sink(tmp_path):
    assert type(raw_lake_for(make_config(tmp_path))) is RawLakeResource
    s3_sink = raw_lake_for(make_config(tmp_path, pipeline={"sink": {"type": "s3", "s3": {"bucket": BUCKET, "region": "eu-west-1"}}}))
    assert isinstance(s3_sink, S3RawLakeResource) and s3_sink.raw_root == f"s3://{BUCKET}/{PREFIX}" and s3_sink.region == "eu-west-1"
    emr = {"application_id": "00fm4oe0607u5a1d", "execution_role_arn": "arn:aws:iam::123456789012:role/r", "artifacts_uri": "s3://a-bucket/emr/",
           "raw_uri": "s3://firehose-lake/raw", "ods_uri": "s3://a-bucket/ods"}  # fmt: skip
    kinesis = make_config(tmp_path, pipeline={"sink": {"type": "kinesis", "kinesis": {"stream_name": "s"}},
                                              "processing": {"engine": "emr_serverless", "emr_serverless": emr}})  # fmt: skip
    assert raw_lake_for(kinesis).raw_root == "s3://firehose-lake/raw"
