"""The S3 destination against a real moto server process: key layout, bytes, idempotent
re-shipping, and how a missing bucket and an unreachable endpoint surface."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from destination_helpers import (
    HOUR,
    STEM,
    aws_test_env,
    finishes_within,
    free_port,
    make_segment,
    raw_record,
    running_moto_server,
)

from clickstream_project.config import ProjectConfig
from ingestion.sinks.destination import Destination, DestinationError
from ingestion.sinks.destinations import destination_from_config
from ingestion.sinks.s3 import S3Destination
from tests.conftest import make_config

PREFIX = "clickstream/test_project/data/buffer/"
EXPECTED_KEY = f"{PREFIX}year=2024/month=05/day=01/hour=13/{STEM}.gz"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with aws_test_env(), running_moto_server() as url:
        yield url


@pytest.fixture
def s3(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3: Any, request: pytest.FixtureRequest) -> str:
    name = f"lake-{request.node.name.replace('_', '-')[:40].strip('-')}"
    s3.create_bucket(Bucket=name)
    return name


def object_keys(s3: Any, bucket: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_a_segment_becomes_one_object_under_its_arrival_hour_with_identical_bytes(tmp_path, s3, bucket, endpoint):
    records = [raw_record(index) for index in range(3)]
    segment = make_segment(tmp_path, records)
    destination = S3Destination(bucket, PREFIX, endpoint_url=endpoint, region="us-east-1")

    destination.ship(segment)

    assert object_keys(s3, bucket) == [EXPECTED_KEY]
    body = s3.get_object(Bucket=bucket, Key=EXPECTED_KEY)["Body"].read()
    assert body == segment.path.read_bytes()
    assert [json.loads(line) for line in gzip.decompress(body).splitlines()] == records
    destination.close()


def test_shipping_a_segment_again_rewrites_the_same_object(tmp_path, s3, bucket, endpoint):
    segment = make_segment(tmp_path, [raw_record(0)])
    destination = S3Destination(bucket, PREFIX, endpoint_url=endpoint, region="us-east-1")

    destination.ship(segment)
    destination.ship(segment)

    assert object_keys(s3, bucket) == [EXPECTED_KEY]
    assert s3.get_object(Bucket=bucket, Key=EXPECTED_KEY)["Body"].read() == segment.path.read_bytes()


def test_segments_of_other_hours_land_in_their_own_partitions(tmp_path, s3, bucket, endpoint):
    destination = S3Destination(bucket, PREFIX, endpoint_url=endpoint, region="us-east-1")

    destination.ship(make_segment(tmp_path, [raw_record(0)], stem="late-a", hour=HOUR - 14))
    destination.ship(make_segment(tmp_path, [raw_record(1)], stem="next-b", hour=HOUR + 11))

    assert object_keys(s3, bucket) == [
        f"{PREFIX}year=2024/month=04/day=30/hour=23/late-a.gz",
        f"{PREFIX}year=2024/month=05/day=02/hour=00/next-b.gz",
    ]


def test_a_missing_bucket_is_a_destination_error_naming_bucket_and_key(tmp_path, endpoint):
    destination = S3Destination("no-such-bucket", PREFIX, endpoint_url=endpoint, region="us-east-1")

    with pytest.raises(DestinationError) as raised:
        destination.ship(make_segment(tmp_path, [raw_record(0)]))

    message = str(raised.value)
    assert f"s3://no-such-bucket/{EXPECTED_KEY}" in message
    assert "NoSuchBucket" in message


def test_an_unreachable_endpoint_is_a_destination_error_without_hanging(tmp_path, endpoint):
    # `endpoint` only provides the fake credentials here.
    destination = S3Destination("lake", PREFIX, endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1")
    segment = make_segment(tmp_path, [raw_record(0)])

    with pytest.raises(DestinationError) as raised:
        finishes_within(30, lambda: destination.ship(segment))

    assert f"s3://lake/{EXPECTED_KEY}" in str(raised.value)
    assert "Could not connect" in str(raised.value)


class RecordingS3Client:
    """Answers PutObject like S3 would, with a chosen ETag and encryption."""

    def __init__(self, etag: str, encryption: str | None = None) -> None:
        self.response: dict[str, Any] = {"ETag": etag}
        if encryption:
            self.response["ServerSideEncryption"] = encryption
        self.calls: list[dict[str, Any]] = []

    def put_object(self, **arguments: Any) -> dict[str, Any]:
        self.calls.append(arguments)
        return self.response


def test_an_etag_that_is_not_the_content_md5_fails_the_shipment(tmp_path):
    client = RecordingS3Client(etag='"00000000000000000000000000000000"')
    destination = S3Destination("lake", PREFIX, client=client)

    with pytest.raises(DestinationError, match="ETag 0{32}, expected MD5"):
        destination.ship(make_segment(tmp_path, [raw_record(0)]))

    assert client.calls[0]["ContentMD5"]
    assert "ContentEncoding" not in client.calls[0]


def test_kms_encrypted_objects_are_not_checked_by_etag(tmp_path):
    # With SSE-KMS the ETag is not an MD5; Content-MD5 already made S3 verify the body.
    client = RecordingS3Client(etag='"00000000000000000000000000000000"', encryption="aws:kms")

    S3Destination("lake", PREFIX, client=client).ship(make_segment(tmp_path, [raw_record(0)]))


def test_describe_names_bucket_and_prefix_and_the_kind(endpoint):
    destination = S3Destination("lake", PREFIX, endpoint_url=endpoint, region="eu-west-1")

    assert isinstance(destination, Destination)
    assert destination.describe() == {
        "kind": "s3",
        "bucket": "lake",
        "prefix": PREFIX,
        "region": "eu-west-1",
        "endpoint_url": endpoint,
    }


def test_the_configuration_chooses_s3_with_the_project_prefix(tmp_path: Path, endpoint):
    config: ProjectConfig = make_config(tmp_path, pipeline={"sink": {"type": "s3", "s3": {"bucket": "my-lake", "endpoint_url": endpoint}}})

    destination = destination_from_config(config)

    assert isinstance(destination, S3Destination)
    assert (destination.bucket, destination.prefix) == ("my-lake", PREFIX)
