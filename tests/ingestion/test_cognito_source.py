"""The Cognito Streams source against a real moto server (Kinesis and S3): shards, a split and a
merge, restarts at the two points a crash can hit, S3Url payloads (moto's presigned URL, an
expired one, a flaky one) and garbage records."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import boto3
import botocore.exceptions
import pytest
import requests
from destination_helpers import aws_test_env, create_kinesis_stream, running_moto_server

from clickstream_contract.raw_lake import is_raw_file, parse_hour_path
from clickstream_project.config import load_config, parse_config, save_config
from clickstream_project.source_settings import CognitoStreamsSource, PayloadFetchSettings
from ingestion.records import COGNITO_STREAMS_SOURCE_TYPE
from ingestion.sinks.local_lake import LocalLakeDestination
from ingestion.sources.checkpoint import Checkpoint
from ingestion.sources.cognito_kinesis import CognitoStreamsConsumer, destination_for
from ingestion.sources.payload_fetch import complete_record
from plugins.elements import MISSING_FIELD, NOT_AN_ARRAY, Rules, elements_of
from plugins.examples.cognito_sync import CognitoSyncTransformer
from tests.conftest import REPO_ROOT, free_port, make_config

APP = "shop_android"


class Crash(Exception):
    """Stands for the process dying at a chosen point."""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with aws_test_env(), running_moto_server() as url:
        yield url


@pytest.fixture
def kinesis(endpoint: str) -> Any:
    return boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def stream(kinesis: Any, request: pytest.FixtureRequest) -> str:
    return create_kinesis_stream(kinesis, f"cognito-{request.node.name[:80]}".replace("[", "-").replace("]", ""))


def source(stream: str, endpoint: str, **overrides: Any) -> CognitoStreamsSource:
    fields = {"name": "cognito", "app_id": APP, "stream_name": stream, "region": "us-east-1", "endpoint_url": endpoint, "batch_size": 3}
    fields["payload_fetch"] = PayloadFetchSettings(timeout_seconds=2, max_attempts=3, backoff_seconds=0)
    return CognitoStreamsSource(**{**fields, **overrides})


def consumer(tmp_path: Path, stream: str, endpoint: str, kinesis: Any, **hooks: Any) -> CognitoStreamsConsumer:
    return CognitoStreamsConsumer(
        source(stream, endpoint), LocalLakeDestination(tmp_path / "lake"), tmp_path / "state", client=kinesis, sleep=lambda _: None, **hooks
    )


def sync(identity: str, key: str, sync_count: int, **overrides: Any) -> dict[str, Any]:
    entry = {"key": key, "value": f"v{sync_count}", "syncCount": sync_count, "op": "replace", "lastModifiedDate": 1424801824343,
             "deviceLastModifiedDate": 1424801824343}  # fmt: skip
    record = {"identityPoolId": "us-east-1:pool", "identityId": identity, "dataSetName": "prefs", "operation": "replace",
              "kinesisSyncRecords": [entry], "lastModifiedDate": 1424801824343, "payloadType": "Inline", "syncCount": sync_count}  # fmt: skip
    return {**record, **overrides}


def put(kinesis: Any, stream: str, records: list[dict[str, Any] | bytes]) -> None:
    for index, record in enumerate(records):
        data = record if isinstance(record, bytes) else json.dumps(record).encode()
        kinesis.put_record(StreamName=stream, Data=data, PartitionKey=f"identity-{index}")


def landed(tmp_path: Path) -> list[dict[str, Any]]:
    """Every raw record in the source's lake directory, checking the layout on the way."""
    records = []
    for file in sorted((tmp_path / "lake").rglob("*")):
        if file.is_file():
            assert is_raw_file(file.name), file
            assert parse_hour_path(str(file.parent.relative_to(tmp_path / "lake"))) is not None, file
            records += [json.loads(line) for line in gzip.decompress(file.read_bytes()).splitlines()]
    return records


def cognito_records(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(record["data"])[0] for record in raw]


def keys(raw: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return sorted((r["identityId"], r["kinesisSyncRecords"][0]["key"], r["syncCount"]) for r in cognito_records(raw))


# Configuration ------------------------------------------------------------------------------


def test_a_source_belongs_to_a_declared_app(tmp_path: Path) -> None:
    config = make_config(tmp_path, pipeline={"sources": [{"name": "cognito", "app_id": APP, "stream_name": "s"}]})
    assert config.source("cognito").batch_size == 1_000
    assert config.source_raw_prefix("cognito") == "clickstream/test_project/data/buffer/sources/cognito/"
    with pytest.raises(ValueError, match=r"pipeline\.sources\.0\.app_id: source 'cognito' belongs to app 'nope', which is not declared"):
        make_config(tmp_path, pipeline={"sources": [{"name": "cognito", "app_id": "nope", "stream_name": "s"}]})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "Cognito"}, r"sources\.0\.name"),
        ({"name": "year=2024"}, r"sources\.0\.name"),
        ({"stream_name": "a b"}, r"sources\.0\.stream_name"),
        ({"batch_size": 0}, r"sources\.0\.batch_size"),
        ({"typo": 1}, r"sources\.0\.typo"),
    ],
)
def test_source_fields_are_checked(tmp_path: Path, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_config(tmp_path, pipeline={"sources": [{"name": "cognito", "app_id": APP, "stream_name": "s", **fields}]})


def test_source_names_are_unique(tmp_path: Path) -> None:
    block = {"name": "cognito", "app_id": APP, "stream_name": "s"}
    with pytest.raises(ValueError, match="duplicate source name"):
        make_config(tmp_path, pipeline={"sources": [block, block]})


def test_the_example_configuration_documents_a_source(tmp_path: Path) -> None:
    """The commented-out block of clickstream.example.yaml is valid once uncommented."""
    lines = (REPO_ROOT / "clickstream.example.yaml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  # sources:"))
    block = ["  sources:"]
    for line in lines[start + 1 :]:
        if not line.startswith("  #   "):
            break
        block.append("  " + line[4:])
    text = "\n".join(line for line in lines if not line.startswith("  sources: []")) + "\n"
    text = text.replace("\nconsole:", "\n" + "\n".join(block) + "\nconsole:", 1)
    path = tmp_path / "clickstream.yaml"
    path.write_text(text)
    (declared,) = load_config(path).pipeline.sources
    assert (declared.name, declared.app_id, declared.stream_name) == ("cognito", "shop_android", "cognito-sync")
    assert declared == CognitoStreamsSource(name="cognito", app_id="shop_android", stream_name="cognito-sync", region="eu-west-1")


def test_files_go_below_the_sources_level_of_the_lake(tmp_path: Path) -> None:
    config = make_config(tmp_path, pipeline={"sources": [{"name": "cognito", "app_id": APP, "stream_name": "s"}]})
    destination = destination_for(config, config.source("cognito"))
    assert destination.describe()["root"] == str(config.lake_root / "clickstream/test_project/data/buffer/sources/cognito")
    # The SDK hours are listed from raw_root, one level above and apart.
    assert config.raw_root == config.lake_root / "clickstream/test_project/data/buffer"


# Reading the stream -------------------------------------------------------------------------


def test_every_record_of_every_shard_lands_as_a_raw_record(tmp_path: Path, endpoint: str, kinesis: Any, stream: str) -> None:
    sent = [sync(f"us-east-1:id{i}", f"k{i}", i + 1) for i in range(10)]
    put(kinesis, stream, sent)
    report = consumer(tmp_path, stream, endpoint, kinesis).run(max_seconds=60)
    raw = landed(tmp_path)
    assert keys(raw) == keys([{"data": json.dumps([record])} for record in sent])
    assert report.records == 10 and len(report.shards_read) == 2
    first = raw[0]
    assert first["source_type"] == COGNITO_STREAMS_SOURCE_TYPE and first["appId"] == APP
    assert first["compression"] is None and isinstance(first["ingest_time"], int)
    assert first["rid"] == f"{first['shard_id']}-{first['sequence_number']}"
    # Read again: caught up, nothing new, and the checkpoint holds both shards.
    assert consumer(tmp_path, stream, endpoint, kinesis).run(max_seconds=60).records == 0
    assert len(Checkpoint.load(tmp_path / "state", stream).sequences) == 2
    put(kinesis, stream, [sync("us-east-1:late", "k", 1)])
    consumer(tmp_path, stream, endpoint, kinesis).run(max_seconds=60)
    assert len(landed(tmp_path)) == 11


@pytest.mark.parametrize("reshard", ["split", "merge"])
def test_a_resharding_loses_nothing(tmp_path: Path, endpoint: str, kinesis: Any, stream: str, reshard: str) -> None:
    before = [sync(f"us-east-1:a{i}", "k", i + 1) for i in range(6)]
    put(kinesis, stream, before)
    consumer(tmp_path, stream, endpoint, kinesis).run(max_seconds=60)
    put(kinesis, stream, [sync("us-east-1:unread", "k", 1)])  # in a parent, not yet read
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    if reshard == "split":
        shard = shards[0]
        low, high = int(shard["HashKeyRange"]["StartingHashKey"]), int(shard["HashKeyRange"]["EndingHashKey"])
        kinesis.split_shard(StreamName=stream, ShardToSplit=shard["ShardId"], NewStartingHashKey=str((low + high) // 2))
    else:
        kinesis.merge_shards(StreamName=stream, ShardToMerge=shards[0]["ShardId"], AdjacentShardToMerge=shards[1]["ShardId"])
    after = [sync(f"us-east-1:b{i}", "k", i + 1) for i in range(6)]
    put(kinesis, stream, after)

    report = consumer(tmp_path, stream, endpoint, kinesis).run(max_seconds=60)
    listed = kinesis.list_shards(StreamName=stream)["Shards"]
    closed = {s["ShardId"] for s in listed if "EndingSequenceNumber" in s["SequenceNumberRange"]}
    assert closed and closed <= report.shards_finished
    # Replays are allowed (moto moves a parent's records into its children), losses are not.
    expected = keys([{"data": json.dumps([r])} for r in [*before, sync("us-east-1:unread", "k", 1), *after]])
    assert sorted(set(keys(landed(tmp_path)))) == sorted(set(expected))


class _StubStream:
    """A stub Kinesis client's iterators: ``<shard>|<position>``, resumed after a checkpoint."""

    def get_shard_iterator(self, *, ShardId: str, ShardIteratorType: str, StartingSequenceNumber: str = "0", **_: Any) -> dict[str, Any]:
        position = int(StartingSequenceNumber) if ShardIteratorType == "AFTER_SEQUENCE_NUMBER" else 0
        return {"ShardIterator": f"{ShardId}|{position}"}


class _ReshardedStream(_StubStream):
    """A stub Kinesis client with real Kinesis' resharding semantics, which moto lacks (moto
    moves a parent's records into its children): a closed parent keeps its records and ends
    with no next iterator; children hold only what came after."""

    def __init__(self) -> None:
        self.shards = {
            "parent": {"closed": True, "records": ["p1", "p2", "p3"]},
            "other": {"closed": True, "records": ["o1"]},
            "child-low": {"parent": "parent", "closed": True, "records": ["c1"]},
            "child-merged": {"parent": "child-low", "adjacent": "other", "records": ["m1", "m2"]},
        }
        self.reads: list[str] = []

    def list_shards(self, **_: Any) -> dict[str, Any]:
        listed = []
        # Children first: the listing's order must not matter.
        for shard_id, shard in reversed(self.shards.items()):
            entry: dict[str, Any] = {"ShardId": shard_id, "SequenceNumberRange": {"StartingSequenceNumber": "1"}}
            if shard.get("closed"):
                entry["SequenceNumberRange"]["EndingSequenceNumber"] = str(len(shard["records"]))
            if "parent" in shard:
                entry["ParentShardId"] = shard["parent"]
            if "adjacent" in shard:
                entry["AdjacentParentShardId"] = shard["adjacent"]
            listed.append(entry)
        return {"Shards": listed}

    def get_records(self, *, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard_id, position = ShardIterator.split("|")
        shard, start = self.shards[shard_id], int(position)
        batch = shard["records"][start : start + Limit]
        self.reads += batch
        end = start + len(batch)
        records = [
            {"SequenceNumber": str(start + i + 1), "Data": json.dumps(sync(f"us-east-1:{name}", "k", 1)).encode()}
            for i, name in enumerate(batch)
        ]
        done = shard.get("closed") and end == len(shard["records"])
        return {"Records": records, "NextShardIterator": None if done else f"{shard_id}|{end}", "MillisBehindLatest": 0}


def test_children_are_read_only_after_their_parents(tmp_path: Path) -> None:
    stub = _ReshardedStream()
    reader = CognitoStreamsConsumer(
        CognitoStreamsSource(name="cognito", app_id=APP, stream_name="s", batch_size=2),
        LocalLakeDestination(tmp_path / "lake"),
        tmp_path / "state",
        client=stub,  # type: ignore[arg-type]
        sleep=lambda _: None,
    )
    report = reader.run(max_seconds=60)
    assert report.records == 7
    assert stub.reads.index("p3") < stub.reads.index("c1") and stub.reads.index("c1") < stub.reads.index("m1")
    assert stub.reads.index("o1") < stub.reads.index("m1")
    assert report.shards_finished == {"parent", "other", "child-low"}
    # The next run reads nothing again: finished shards stay finished, open ones resume.
    assert reader.run(max_seconds=60).records == 0


class _HotAndColdStream(_StubStream):
    """A stub of two open shards: "hot" always has more records (a bulk publish), "cold" two.
    Each GetRecords costs a second on the reader's clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads: list[str] = []

    def clock(self) -> float:
        return self.now

    def list_shards(self, **_: Any) -> dict[str, Any]:
        return {"Shards": [{"ShardId": shard, "SequenceNumberRange": {"StartingSequenceNumber": "1"}} for shard in ("hot", "cold")]}

    def get_records(self, *, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self.now += 1
        shard_id, position = ShardIterator.split("|")
        start = int(position)
        end = start + Limit if shard_id == "hot" else min(start + Limit, 2)
        self.reads += [shard_id] * (end - start)
        records = [
            {"SequenceNumber": str(n + 1), "Data": json.dumps(sync(f"us-east-1:{shard_id}{n}", "k", 1)).encode()} for n in range(start, end)
        ]
        behind = 1_000 if shard_id == "hot" else 0
        return {"Records": records, "NextShardIterator": f"{shard_id}|{end}", "MillisBehindLatest": behind}


def test_a_hot_shard_does_not_starve_the_others(tmp_path: Path) -> None:
    stub = _HotAndColdStream()
    reader = CognitoStreamsConsumer(
        CognitoStreamsSource(name="cognito", app_id=APP, stream_name="s", batch_size=5),
        LocalLakeDestination(tmp_path / "lake"),
        tmp_path / "state",
        client=stub,  # type: ignore[arg-type]
        clock=stub.clock,
        sleep=lambda _: None,
    )
    report = reader.run(max_seconds=20)
    # The cold shard's records are read although the hot one never catches up; the hot one
    # gets the time the cold one did not need.
    assert stub.reads.count("cold") == 2
    assert stub.reads.count("hot") >= 5 * 15
    assert reader.checkpoint.sequences == {"hot": str(stub.reads.count("hot")), "cold": "2"}
    assert report.records == len(stub.reads)


# Restarts -----------------------------------------------------------------------------------


def test_a_crash_after_the_file_before_the_checkpoint_replays(tmp_path: Path, endpoint: str, kinesis: Any, stream: str) -> None:
    sent = [sync(f"us-east-1:id{i}", "k", 1) for i in range(8)]
    put(kinesis, stream, sent)

    def crash(shard_id: str, sequence: str) -> None:
        raise Crash

    with pytest.raises(Crash):
        consumer(tmp_path, stream, endpoint, kinesis, before_checkpoint=crash).run(max_seconds=60)
    first_file = landed(tmp_path)
    assert first_file and Checkpoint.load(tmp_path / "state", stream).sequences == {}
    consumer(tmp_path, stream, endpoint, kinesis).run(max_seconds=60)
    raw = landed(tmp_path)
    assert set(keys(raw)) == set(keys([{"data": json.dumps([r])} for r in sent]))
    assert len(raw) == len(sent) + len(first_file)  # the batch was read twice, nothing lost


def test_a_crash_before_the_file_is_durable_loses_nothing(tmp_path: Path, endpoint: str, kinesis: Any, stream: str) -> None:
    sent = [sync(f"us-east-1:id{i}", "k", 1) for i in range(8)]
    put(kinesis, stream, sent)
    shipped = 0

    def crash_on_second(segment: Any) -> None:
        nonlocal shipped
        shipped += 1
        if shipped == 2:
            raise Crash

    with pytest.raises(Crash):
        consumer(tmp_path, stream, endpoint, kinesis, before_ship=crash_on_second).run(max_seconds=60)
    assert len(Checkpoint.load(tmp_path / "state", stream).sequences) == 1
    assert not list((tmp_path / "state" / "staging").iterdir())  # no staging file left behind
    consumer(tmp_path, stream, endpoint, kinesis).run(max_seconds=60)
    raw = landed(tmp_path)
    assert sorted(keys(raw)) == sorted(keys([{"data": json.dumps([r])} for r in sent]))  # exactly once here


def test_a_reader_killed_with_sigkill_loses_nothing(tmp_path: Path, endpoint: str, kinesis: Any, stream: str) -> None:
    """A real kill: `clickstream cognito-source` reading a backlog gets SIGKILL at some point of
    its loop (between any two instructions); the next run lands every record, some again."""
    sent = [sync(f"us-east-1:kill{i}", "k", 1) for i in range(240)]
    put(kinesis, stream, sent)
    config = make_config(tmp_path, pipeline={"sources": [source(stream, endpoint, batch_size=2).model_dump()]})
    path = tmp_path / "clickstream.yaml"
    save_config(config, path)
    lake = config.lake_root / config.source_raw_prefix("cognito")
    command = [str(Path(sys.executable).with_name("clickstream")), "cognito-source", "--config", str(path)]
    reader = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(lake.rglob("*.gz"))) < 10 and time.monotonic() < deadline and reader.poll() is None:
            time.sleep(0.05)
        assert reader.poll() is None, "the reader stopped before it was killed"
        reader.send_signal(signal.SIGKILL)
    finally:
        reader.wait(timeout=10)
    before = {record["identityId"] for record in cognito_records(landed_in(lake))}
    assert 0 < len(before) < len(sent)
    again = subprocess.run(
        [*command, "--once"], capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    )
    assert again.returncode == 0, again.stderr
    after = [record["identityId"] for record in cognito_records(landed_in(lake))]
    assert set(after) == {record["identityId"] for record in sent}
    # At most the batch in flight at the kill is landed twice.
    assert len(after) - len(sent) <= 2


def landed_in(lake: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for file in sorted(lake.rglob("*.gz")) for line in gzip.decompress(file.read_bytes()).splitlines()]


def test_a_checkpoint_of_another_stream_is_refused(tmp_path: Path, endpoint: str, kinesis: Any, stream: str) -> None:
    Checkpoint("other", {"shardId-000000000000": "1"}).save(tmp_path / "state")
    with pytest.raises(ValueError, match="checkpoint of stream 'other'"):
        consumer(tmp_path, stream, endpoint, kinesis)


# S3Url payloads and garbage -----------------------------------------------------------------


class _Answers(http.server.BaseHTTPRequestHandler):
    """/expired answers like S3 for an expired presigned URL; /flaky fails once, then serves."""

    calls: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        self.calls[self.path] = self.calls.get(self.path, 0) + 1
        if self.path == "/expired":
            self._answer(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        elif self.path == "/flaky" and self.calls[self.path] == 1:
            self._answer(503, b"slow down")
        elif self.path == "/big":
            self._answer(200, b"[" + b" " * (2 * 1024 * 1024) + b"]")
        else:
            self._answer(200, json.dumps([{"key": "flaky", "value": "x", "syncCount": 1, "op": "replace"}]).encode())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def answers() -> Iterator[str]:
    _Answers.calls = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_s3url_records_are_completed_or_marked(tmp_path: Path, endpoint: str, kinesis: Any, stream: str, answers: str) -> None:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="cognito-payloads")
    entries = [{"key": f"big{i}", "value": "x" * 1000, "syncCount": 7, "op": "replace", "lastModifiedDate": 1} for i in range(60)]
    full = sync("us-east-1:big", "unused", 7, kinesisSyncRecords=entries)
    s3.put_object(Bucket="cognito-payloads", Key="sync/1.json", Body=json.dumps(full).encode())
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "cognito-payloads", "Key": "sync/1.json"}, ExpiresIn=600)

    def behind(link: str, identity: str) -> dict[str, Any]:
        record = sync(identity, "unused", 7, payloadType="S3Url", kinesisSyncRecordsURL=link)
        del record["kinesisSyncRecords"]
        return record

    put(
        kinesis,
        stream,
        [behind(url, "us-east-1:big"), behind(f"{answers}/expired", "us-east-1:old"), behind(f"{answers}/flaky", "us-east-1:flaky")],
    )
    report = consumer(tmp_path, stream, endpoint, kinesis).run(max_seconds=60)
    by_identity = {record["identityId"]: record for record in cognito_records(landed(tmp_path))}
    assert by_identity["us-east-1:big"]["kinesisSyncRecords"] == entries
    assert "fetch_error" not in by_identity["us-east-1:big"]
    expired = by_identity["us-east-1:old"]
    assert "kinesisSyncRecords" not in expired and expired["payloadType"] == "S3Url"
    assert expired["fetch_error"] == "kinesisSyncRecordsURL answered HTTP 403 (presigned URL expired or invalid)"
    assert _Answers.calls["/expired"] == 1  # an expired URL is not retried
    assert by_identity["us-east-1:flaky"]["kinesisSyncRecords"][0]["key"] == "flaky" and _Answers.calls["/flaky"] == 2
    assert report.fetch_errors == 1
    # No presigned credential in the lake: bucket and key only.
    assert by_identity["us-east-1:big"]["kinesisSyncRecordsURL"] == f"{endpoint}/cognito-payloads/sync/1.json"
    assert expired["kinesisSyncRecordsURL"] == f"{answers}/expired"
    landed_bytes = b"".join(file.read_bytes() for file in (tmp_path / "lake").rglob("*.gz"))
    assert b"Signature" not in gzip.decompress(landed_bytes) and b"X-Amz" not in gzip.decompress(landed_bytes)


def test_payload_fetch_gives_up_after_its_attempts_and_its_size_limit(answers: str) -> None:
    record = {"payloadType": "S3Url", "kinesisSyncRecordsURL": f"http://127.0.0.1:{free_port()}/nothing"}
    settings = PayloadFetchSettings(timeout_seconds=1, max_attempts=2, backoff_seconds=0)
    assert complete_record(record, settings, session=requests.Session())["fetch_error"] == (
        "kinesisSyncRecordsURL not fetched after 2 attempt(s): ConnectionError"
    )
    big = {"payloadType": "S3Url", "kinesisSyncRecordsURL": f"{answers}/big"}
    assert complete_record(big, PayloadFetchSettings(max_mib=1), session=requests.Session())["fetch_error"] == (
        "kinesisSyncRecordsURL payload is over 1 MiB"
    )
    no_url = complete_record({"payloadType": "S3Url"}, settings)
    assert no_url["fetch_error"].startswith("payloadType S3Url without")


def test_garbage_is_landed_as_read_for_processing_to_quarantine(tmp_path: Path, endpoint: str, kinesis: Any, stream: str) -> None:
    wrong_types = sync("us-east-1:x", "k", 1, identityId=42, kinesisSyncRecords="nope")
    put(kinesis, stream, [b"not json at all", b"\xff\xfe binary", b"[1, 2]", wrong_types])
    report = consumer(tmp_path, stream, endpoint, kinesis).run(max_seconds=60)
    data = sorted(record["data"] for record in landed(tmp_path))
    assert report.records == 4 and report.not_json == 3
    assert "not json at all" in data and "[1, 2]" in data and "\\xff\\xfe binary" in data
    assert json.dumps([wrong_types], separators=(",", ":")) in data


def test_parse_config_names_the_source_field(tmp_path: Path) -> None:
    data = {"project_id": "p", "apps": [], "pipeline": {"sources": [{"name": "c", "app_id": "a", "stream_name": "s"}]}}
    with pytest.raises(ValueError, match=r"pipeline\.sources\.0\.app_id.*declared: none"):
        parse_config(data, base_dir=tmp_path)


def test_a_killed_readers_staging_file_is_cleared_and_its_records_reread(tmp_path: Path, endpoint: str, kinesis: Any, stream: str) -> None:
    """A SIGKILL during the ship leaves the staging file and no checkpoint: the next reader
    removes the file and reads the records again."""
    sent = [sync(f"us-east-1:id{i}", "k", 1) for i in range(4)]
    put(kinesis, stream, sent)
    staging = tmp_path / "state" / "staging"
    staging.mkdir(parents=True)
    (staging / "20261207T000000000Z-cognito-shardId-000000000000-1-00000000.gz").write_bytes(b"half a file")
    consumer(tmp_path, stream, endpoint, kinesis).run(max_seconds=60)
    assert not list(staging.iterdir())
    assert sorted(keys(landed(tmp_path))) == sorted(keys([{"data": json.dumps([r])} for r in sent]))


def test_latest_skips_older_records_but_not_those_sent_between_runs(tmp_path: Path, endpoint: str, kinesis: Any, stream: str) -> None:
    put(kinesis, stream, [sync("us-east-1:before", "k", 1)])

    def reader() -> CognitoStreamsConsumer:
        return CognitoStreamsConsumer(
            source(stream, endpoint, initial_position="latest"), LocalLakeDestination(tmp_path / "lake"), tmp_path / "state",
            client=kinesis, sleep=lambda _: None,
        )  # fmt: skip

    time.sleep(0.05)  # the start (whole ms) is then surely after the first record (moto: float seconds)
    assert reader().run(max_seconds=60).records == 0  # found nothing, stored no sequence number
    put(kinesis, stream, [sync("us-east-1:between", "k", 1)])
    reader().run(max_seconds=60)
    assert [r["identityId"] for r in cognito_records(landed(tmp_path))] == ["us-east-1:between"]


def test_an_expired_iterator_is_renewed_from_the_checkpoint(tmp_path: Path, endpoint: str, kinesis: Any, stream: str) -> None:
    put(kinesis, stream, [sync(f"us-east-1:id{i}", "k", 1) for i in range(4)])
    real, expired = kinesis.get_records, []

    def get_records(**kwargs: Any) -> Any:
        if not expired:
            expired.append(kwargs)
            raise botocore.exceptions.ClientError({"Error": {"Code": "ExpiredIteratorException", "Message": "expired"}}, "GetRecords")
        return real(**kwargs)

    kinesis.get_records = get_records
    consumer(tmp_path, stream, endpoint, kinesis).run(max_seconds=60)
    assert expired and len(landed(tmp_path)) == 4


def test_with_the_s3_sink_files_go_below_the_sources_prefix_of_the_bucket(tmp_path: Path, endpoint: str, kinesis: Any, stream: str) -> None:
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="lake")
    block = {"name": "cognito", "app_id": APP, "stream_name": stream, "region": "us-east-1", "endpoint_url": endpoint}
    sink = {"type": "s3", "s3": {"bucket": "lake", "region": "us-east-1", "endpoint_url": endpoint}}
    config = make_config(tmp_path, pipeline={"sink": sink, "sources": [block]})
    put(kinesis, stream, [sync("us-east-1:s3", "k", 1)])
    reader = CognitoStreamsConsumer(
        config.source("cognito"),
        destination_for(config, config.source("cognito")),
        tmp_path / "state",
        client=kinesis,
        sleep=lambda _: None,
    )
    reader.run(max_seconds=60)
    listed = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").list_objects_v2(Bucket="lake")["Contents"]
    (key,) = [item["Key"] for item in listed]
    prefix = "clickstream/test_project/data/buffer/sources/cognito/"
    assert (
        key.startswith(prefix) and parse_hour_path(key[len(prefix) :].rsplit("/", 1)[0]) is not None and is_raw_file(key.rsplit("/", 1)[1])
    )


def test_processing_quarantines_what_the_source_could_not_complete(
    tmp_path: Path, endpoint: str, kinesis: Any, stream: str, answers: str
) -> None:
    """The landed records through the cleaning step's rules (plugins/elements.py) with the
    Cognito transformer's required fields: which reason each gets, and where fetch_error shows."""
    now_ms = int(time.time() * 1000)
    good = sync("us-east-1:good", "k", 1, lastModifiedDate=now_ms)
    expired = sync("us-east-1:old", "k", 1, lastModifiedDate=now_ms, payloadType="S3Url", kinesisSyncRecordsURL=f"{answers}/expired")
    del expired["kinesisSyncRecords"]
    # (A number where identityId's string goes passes: the rule reads it as its text.)
    wrong_types = sync("us-east-1:x", "k", 1, lastModifiedDate=now_ms, kinesisSyncRecords="nope")
    put(kinesis, stream, [good, expired, wrong_types, b"not json", b"[1, 2]"])
    consumer(tmp_path, stream, endpoint, kinesis).run(max_seconds=60)

    rules = Rules.of(CognitoSyncTransformer("test_project", APP), [APP])
    outcomes = []
    for raw in landed(tmp_path):
        elements, reason = elements_of(raw)
        if elements is None:
            outcomes.append((raw["data"], reason))
            continue
        for element in elements:
            reason, _ = rules.check(element, raw["ingest_time"])
            label = element.get("identityId") if isinstance(element, dict) else element
            outcomes.append((label, reason, element.get("fetch_error") if isinstance(element, dict) else None))
    assert sorted(map(str, outcomes)) == sorted(
        map(
            str,
            [
                ("us-east-1:good", None, None),
                ("us-east-1:old", MISSING_FIELD, "kinesisSyncRecordsURL answered HTTP 403 (presigned URL expired or invalid)"),
                ("us-east-1:x", MISSING_FIELD, None),
                ("not json", NOT_AN_ARRAY),
                (1, MISSING_FIELD, None),
                (2, MISSING_FIELD, None),
            ],
        )
    )
