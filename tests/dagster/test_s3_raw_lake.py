"""The raw lake in S3 (moto): the same hours and fingerprints as the same files on disk, so the
sensor, the schedule and the raw asset work unchanged on the scale-out shape."""

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from clickstream_contract.raw_lake import hour_path
from clickstream_dagster.lake.partitions import hour_to_partition_key
from clickstream_dagster.lake.resources import RawLakeResource, S3RawLakeResource, raw_lake_for
from clickstream_dagster.lake.sensors import raw_hours_sensor
from clickstream_dagster.processing.assets import job_arguments
from clickstream_dagster.processing.emr import EmrServerlessSparkJobResource
from clickstream_project.config import ConfigError
from tests.conftest import make_config

BUCKET = "clickstream-lake"  # created by the s3 fixture (conftest.py)
PREFIX = "clickstream/test_project/data/buffer/"
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def put_both(s3, local_root: Path, hour: datetime, name: str, lines: int) -> None:
    """The same raw file in the bucket and in a local lake."""
    body = gzip.compress(b'{"data": "[]"}\n' * lines, mtime=0)
    key = f"{PREFIX}year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/{name}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    directory = local_root / hour_path(hour)
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


EMR = {"application_id": "00fm4oe0607u5a1d", "execution_role_arn": "arn:aws:iam::123456789012:role/r", "artifacts_uri": "s3://a-bucket/emr/",
       "ods_uri": "s3://a-bucket/ods"}  # fmt: skip
S3_SINK = {"type": "s3", "s3": {"bucket": BUCKET, "region": "eu-west-1"}}


def on_emr(tmp_path, sink: dict, **emr):
    return make_config(tmp_path, pipeline={"sink": sink, "processing": {"engine": "emr_serverless", "emr_serverless": {**EMR, **emr}}})


def test_the_lake_listed_follows_the_sink(tmp_path):
    assert type(raw_lake_for(make_config(tmp_path))) is RawLakeResource
    s3_sink = raw_lake_for(make_config(tmp_path, pipeline={"sink": S3_SINK}))
    assert isinstance(s3_sink, S3RawLakeResource) and s3_sink.raw_root == f"s3://{BUCKET}/{PREFIX}".rstrip("/")
    assert s3_sink.region == "eu-west-1"
    kinesis = on_emr(tmp_path, {"type": "kinesis", "kinesis": {"stream_name": "s"}}, raw_uri="s3://firehose-lake/raw")
    assert raw_lake_for(kinesis).raw_root == "s3://firehose-lake/raw"


def test_the_emr_job_reads_the_lake_the_sensor_lists(tmp_path):
    """With the S3 sink, the raw URI is where the sink writes: the sensor lists it and the job
    reads it, given once (sink.s3 + sink.prefix) or not at all differently."""
    for config in (on_emr(tmp_path, S3_SINK), on_emr(tmp_path, S3_SINK, raw_uri=f"s3://{BUCKET}/{PREFIX}")):
        job = EmrServerlessSparkJobResource.from_config(config)
        assert raw_lake_for(config).raw_root == job.raw_uri == config.raw_uri == f"s3://{BUCKET}/{PREFIX}".rstrip("/")


def test_a_raw_uri_other_than_where_the_s3_sink_writes_is_refused(tmp_path):
    with pytest.raises(ConfigError) as error:
        on_emr(tmp_path, S3_SINK, raw_uri=f"s3://{BUCKET}/clickstream/other_project/data/buffer")
    message = str(error.value)
    assert message.startswith("invalid configuration in <config>:\n  - pipeline.processing.emr_serverless.raw_uri: differs from where")
    assert f"pipeline.sink.s3.bucket and pipeline.sink.prefix: s3://{BUCKET}/{PREFIX}".rstrip("/") in message


@pytest.mark.parametrize(
    "sink", [{"type": "kinesis", "kinesis": {"stream_name": "s"}}, {"type": "kafka", "kafka": {"bootstrap_servers": "b:9092"}}]
)
def test_delivered_lakes_name_their_raw_uri(tmp_path, sink):
    with pytest.raises(
        ConfigError, match=rf"pipeline\.processing\.emr_serverless\.raw_uri: required with pipeline\.sink\.type '{sink['type']}'"
    ):
        on_emr(tmp_path, sink)


def test_local_spark_reads_the_lake_the_sensor_lists(tmp_path):
    """The local engine with the S3 sink: Spark is pointed at the bucket the sensor lists (it
    fails loudly without an S3 connector) instead of an empty local directory."""
    config = make_config(tmp_path, pipeline={"sink": S3_SINK})
    arguments = job_arguments(config, NOW, NOW)
    assert arguments[arguments.index("--raw-root") + 1] == raw_lake_for(config).raw_root == f"s3://{BUCKET}/{PREFIX}".rstrip("/")
    local = make_config(tmp_path)
    arguments = job_arguments(local, NOW, NOW)
    assert arguments[arguments.index("--raw-root") + 1] == raw_lake_for(local).raw_root == str(local.raw_root)


def test_emr_with_a_local_sink_is_refused(tmp_path):
    with pytest.raises(
        ConfigError, match=r"pipeline\.processing\.engine: 'emr_serverless' reads the raw lake from S3, but pipeline\.sink\.type 'local'"
    ):
        on_emr(tmp_path, {"type": "local"}, raw_uri="s3://somewhere/raw")
