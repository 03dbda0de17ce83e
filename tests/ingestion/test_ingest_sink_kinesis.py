"""The Kinesis destination: a real moto server for the PutRecords limits and reading the
records back, stub clients for the partial-failure retry path; plus the Firehose example."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.validate import validate_parameters
from destination_helpers import aws_test_env, create_kinesis_stream, make_segment, raw_record, running_moto_server

from ingestion.records import encode_record
from ingestion.sinks import kinesis as kinesis_module
from ingestion.sinks.destination import Destination, DestinationError
from ingestion.sinks.destinations import destination_from_config
from ingestion.sinks.kinesis import MAX_ATTEMPTS, KinesisDestination
from tests.conftest import REPO_ROOT, make_config

FIREHOSE_EXAMPLE = REPO_ROOT / "deploy" / "sinks" / "firehose-delivery-stream.json"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with aws_test_env(), running_moto_server() as url:
        yield url


@pytest.fixture
def client(endpoint: str) -> Any:
    """A client that counts the PutRecords calls it makes."""
    kinesis = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1")
    kinesis.put_records_calls = []
    kinesis.meta.events.register(
        "before-parameter-build.kinesis.PutRecords", lambda params, **_: kinesis.put_records_calls.append(len(params["Records"]))
    )
    return kinesis


@pytest.fixture
def stream(client: Any, request: pytest.FixtureRequest) -> str:
    return create_kinesis_stream(client, f"raw-{request.node.name[:100]}")


def read_stream(client: Any, stream: str) -> list[bytes]:
    data: list[bytes] = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        iterator = client.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            response = client.get_records(ShardIterator=iterator, Limit=10_000)
            data += [record["Data"] for record in response["Records"]]
            if not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
    return data


def test_every_record_arrives_as_its_json_line_across_several_calls(tmp_path, client, stream):
    records = [raw_record(index) for index in range(1_200)]
    destination = KinesisDestination(stream, client=client)

    destination.ship(make_segment(tmp_path, records))

    assert client.put_records_calls == [500, 500, 200]
    assert sorted(read_stream(client, stream)) == sorted(encode_record(record) for record in records)


def test_calls_stay_under_five_mib(tmp_path, client, stream):
    # 12 records of 600 KiB: 7.2 MiB, so the byte limit splits the calls, not the count.
    records = [raw_record(index, data="x" * (600 * 1024)) for index in range(12)]

    KinesisDestination(stream, client=client).ship(make_segment(tmp_path, records))

    assert client.put_records_calls == [8, 4]
    assert len(read_stream(client, stream)) == 12


def test_the_configured_batch_size_caps_each_call(tmp_path, client, stream):
    KinesisDestination(stream, client=client, batch_size=100).ship(make_segment(tmp_path, [raw_record(index) for index in range(250)]))

    assert client.put_records_calls == [100, 100, 50]


def test_a_record_over_one_mib_is_set_aside_and_the_others_delivered(tmp_path, client, stream):
    big = raw_record(1, data="x" * (MIB + 10))
    records = [raw_record(0), big, raw_record(2)]
    oversize_dir = tmp_path / "rejected"
    destination = KinesisDestination(stream, client=client, oversize_dir=oversize_dir)
    segment = make_segment(tmp_path, records)

    destination.ship(segment)
    destination.ship(segment)

    kept = oversize_dir / f"{segment.stem}.gz"
    assert [json.loads(line) for line in gzip.decompress(kept.read_bytes()).splitlines()] == [big]
    assert sorted(read_stream(client, stream)) == sorted(encode_record(r) for r in [records[0], records[2]] * 2)
    assert destination.describe()["oversize_records"] == 2


def test_a_missing_stream_is_a_destination_error_naming_it(tmp_path, client):
    destination = KinesisDestination("no-such-stream", client=client)

    with pytest.raises(DestinationError, match="stream 'no-such-stream'.*ResourceNotFoundException"):
        destination.ship(make_segment(tmp_path, [raw_record(0)]))


class ScriptedKinesisClient:
    """PutRecords answers from a script: each entry lists the positions to reject, by code."""

    def __init__(self, script: list[dict[int, str]], default: dict[int, str] | None = None) -> None:
        self.script = list(script)
        self.default = default or {}
        self.calls: list[list[bytes]] = []

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append([record["Data"] for record in Records])
        rejected = self.script.pop(0) if self.script else self.default
        results = [
            {"ErrorCode": rejected[position], "ErrorMessage": "Rate exceeded for shard shardId-000000000001"}
            if position in rejected
            else {"SequenceNumber": str(position), "ShardId": "shardId-000000000000"}
            for position in range(len(Records))
        ]
        return {"FailedRecordCount": len(rejected), "Records": results}


def test_only_the_rejected_records_are_sent_again(tmp_path):
    client = ScriptedKinesisClient([{1: "ProvisionedThroughputExceededException", 3: "InternalFailure"}, {}])
    sleeps: list[float] = []
    records = [raw_record(index) for index in range(5)]

    KinesisDestination("raw", client=client, sleep=sleeps.append).ship(make_segment(tmp_path, records))

    lines = [encode_record(record) for record in records]
    assert client.calls == [lines, [lines[1], lines[3]]]
    assert len(sleeps) == 1


def test_records_still_rejected_after_the_last_attempt_fail_the_segment(tmp_path):
    client = ScriptedKinesisClient([], default={0: "ProvisionedThroughputExceededException"})
    sleeps: list[float] = []
    destination = KinesisDestination("raw", client=client, sleep=sleeps.append)

    with pytest.raises(DestinationError) as raised:
        destination.ship(make_segment(tmp_path, [raw_record(0), raw_record(1)]))

    assert "stream 'raw' rejected 1 records" in str(raised.value)
    assert "ProvisionedThroughputExceededException" in str(raised.value)
    assert len(client.calls) == MAX_ATTEMPTS
    # Bounded exponential backoff: a short first wait, none above the cap.
    assert len(sleeps) == MAX_ATTEMPTS - 1
    assert sleeps[0] <= kinesis_module.BACKOFF_FIRST_SECONDS < sleeps[-1] <= kinesis_module.BACKOFF_MAX_SECONDS


def test_describe_names_the_stream(endpoint):
    destination = KinesisDestination("raw", endpoint_url=endpoint, region="us-east-1", batch_size=10_000)

    assert isinstance(destination, Destination)
    assert destination.describe() == {
        "kind": "kinesis",
        "stream_name": "raw",
        "region": "us-east-1",
        "endpoint_url": endpoint,
        "records_per_call": 500,
        "oversize_records": 0,
    }


def test_the_configuration_chooses_kinesis(tmp_path: Path, endpoint):
    config = make_config(
        tmp_path,
        pipeline={"sink": {"type": "kinesis", "kinesis": {"stream_name": "clicks", "batch_size": 200}}},
    )

    destination = destination_from_config(config)

    assert isinstance(destination, KinesisDestination)
    assert (destination.stream_name, destination.records_per_call) == ("clicks", 200)
    assert destination.oversize_dir == config.data_root / "rejected" / "kinesis"


def test_the_firehose_example_is_a_valid_request_writing_the_raw_layout():
    example = json.loads(FIREHOSE_EXAMPLE.read_text(encoding="utf-8"))
    model = botocore.session.get_session().get_service_model("firehose")

    validate_parameters(example, model.operation_model("CreateDeliveryStream").input_shape)

    s3 = example["ExtendedS3DestinationConfiguration"]
    raw_prefix = make_config(Path("/"), project_id="my_project").raw_prefix
    assert s3["Prefix"] == (f"{raw_prefix}year=!{{timestamp:yyyy}}/month=!{{timestamp:MM}}/day=!{{timestamp:dd}}/hour=!{{timestamp:HH}}/")
    assert not s3["ErrorOutputPrefix"].startswith(raw_prefix)
    assert (s3["CompressionFormat"], s3["FileExtension"], s3["CustomTimeZone"]) == ("GZIP", ".gz", "UTC")
    # Records already end with "\n"; a delimiter processor would add blank lines.
    assert "ProcessingConfiguration" not in s3
