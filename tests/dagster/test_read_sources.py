"""The read_sources job and its schedule: a Dagster run reads a configured Cognito Streams
source (on a moto Kinesis server) into the lake below <prefix>sources/<name>/; the schedule
runs by default only when sources are configured and skips while a run is still going; the
`clickstream cognito-source --once` command does the same from the shell."""

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import dagster as dg
import pytest

from clickstream_dagster.lake.schedules import build_read_sources_schedule
from clickstream_dagster.lake.sources import read_sources_job
from clickstream_dagster.resources import ProjectResource
from clickstream_project.config import save_config
from clickstream_tools import cli
from ingestion.sources.cognito_kinesis import exclusive
from tests.conftest import make_config
from tests.ingestion.destination_helpers import aws_test_env, create_kinesis_stream, running_moto_server

STREAM = "cognito-sync"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with aws_test_env(), running_moto_server() as url:
        create_kinesis_stream(boto3.client("kinesis", endpoint_url=url, region_name="us-east-1"), STREAM)
        yield url


def put(endpoint: str, identity: str) -> None:
    record = {"identityPoolId": "us-east-1:pool", "identityId": identity, "dataSetName": "prefs", "operation": "replace", "payloadType": "Inline",
              "syncCount": 1, "lastModifiedDate": 1, "kinesisSyncRecords": [{"key": "k", "value": "v", "syncCount": 1, "op": "replace"}]}  # fmt: skip
    boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1").put_record(
        StreamName=STREAM, Data=json.dumps(record).encode(), PartitionKey=identity
    )


def project(tmp_path: Path, endpoint: str) -> tuple[Path, object]:
    source = {
        "name": "cognito",
        "app_id": "shop_web",
        "stream_name": STREAM,
        "region": "us-east-1",
        "endpoint_url": endpoint,
        "max_seconds_per_run": 30,
    }
    config = make_config(tmp_path, pipeline={"sources": [source]})
    path = tmp_path / "clickstream.yaml"
    save_config(config, path)
    return path, config


def identities(config) -> list[str]:
    root = config.lake_root / config.source_raw_prefix("cognito")
    lines = [line for file in root.rglob("*.gz") for line in gzip.decompress(file.read_bytes()).splitlines()]
    return sorted(json.loads(json.loads(line)["data"])[0]["identityId"] for line in lines)


def test_a_run_and_the_cli_read_the_source_into_the_lake(tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    path, config = project(tmp_path, endpoint)
    put(endpoint, "us-east-1:dagster")
    result = read_sources_job.execute_in_process(resources={"clickstream": ProjectResource(config_path=str(path))})
    assert result.success
    assert identities(config) == ["us-east-1:dagster"]
    # Files of the source never sit in the hours the SDK sensor lists.
    assert not list(config.raw_root.glob("year=*"))

    put(endpoint, "us-east-1:cli")
    assert cli.main(["cognito-source", "--config", str(path), "--once"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["source"] == "cognito" and report["records"] == 1
    assert identities(config) == ["us-east-1:cli", "us-east-1:dagster"]


def test_a_second_reader_of_a_source_is_refused(tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    path, config = project(tmp_path, endpoint)
    with exclusive(config.source_state_dir("cognito"), "cognito"):
        assert cli.main(["cognito-source", "--config", str(path), "--once"]) == 1
        assert "is being read by another process" in capsys.readouterr().err
        # The Dagster run logs it and succeeds: the other reader reads the same records.
        assert read_sources_job.execute_in_process(resources={"clickstream": ProjectResource(config_path=str(path))}).success


def test_cli_names_an_unknown_source(tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = project(tmp_path, endpoint)
    assert cli.main(["cognito-source", "--config", str(path), "--once", "--source", "nope"]) == 2
    assert "unknown source 'nope'" in capsys.readouterr().err


def test_the_schedule_runs_only_with_sources_and_one_run_at_a_time(tmp_path: Path, endpoint: str) -> None:
    _, config = project(tmp_path, endpoint)
    idle = build_read_sources_schedule([])
    assert idle.default_status == dg.DefaultScheduleStatus.STOPPED
    schedule = build_read_sources_schedule(config.pipeline.sources)
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.instance_for_test() as instance:
        assert isinstance(idle(dg.build_schedule_context(instance=instance)), dg.SkipReason)
        assert isinstance(schedule(dg.build_schedule_context(instance=instance)), dg.RunRequest)
        instance.create_run_for_job(read_sources_job, status=dg.DagsterRunStatus.STARTED)
        skipped = schedule(dg.build_schedule_context(instance=instance))
        assert isinstance(skipped, dg.SkipReason) and "still reading" in skipped.skip_message


def test_a_broken_source_fails_the_run_after_the_others_were_read(tmp_path: Path, endpoint: str) -> None:
    broken = {"name": "broken", "app_id": "shop_web", "stream_name": "no-such-stream", "region": "us-east-1", "endpoint_url": endpoint}
    working = {"name": "cognito", "app_id": "shop_web", "stream_name": STREAM, "region": "us-east-1", "endpoint_url": endpoint}
    config = make_config(tmp_path, pipeline={"sources": [broken, working]})
    path = tmp_path / "clickstream.yaml"
    save_config(config, path)
    put(endpoint, "us-east-1:after-broken")
    result = read_sources_job.execute_in_process(resources={"clickstream": ProjectResource(config_path=str(path))}, raise_on_error=False)
    assert not result.success
    assert "us-east-1:after-broken" in identities(config)
