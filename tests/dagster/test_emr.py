"""EMR Serverless: packaging, argument rewriting, submission through Dagster Pipes, report
read-back. S3 is moto's in-process mock; EMR Serverless is a fake that records what it was asked
to start and answers get_job_run with scripted states."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path

import boto3
import dagster as dg
import pytest
from moto import mock_aws

from clickstream_dagster.definitions import defs
from clickstream_dagster.processing import emr
from clickstream_dagster.processing.assets import job_arguments
from clickstream_dagster.processing.emr import (
    EmrServerlessSparkJobResource,
    build_bundle,
    emr_job_arguments,
    upload_bundle,
)
from clickstream_dagster.processing.resources import REPO_ROOT, SparkJobError
from clickstream_dagster.resources import ProjectResource
from clickstream_project.config import CONFIG_ENV_VAR, ConfigError, save_config
from tests.conftest import make_config
from tests.dagster.lake_assets import ods_events

BUCKET = "clickstream-artifacts"
APPLICATION_ID = "00fm4oe0607u5a1d"
ROLE = "arn:aws:iam::123456789012:role/clickstream-emr-job"
IP_PLUGIN = "plugins.enrich_ip.IpEnrichment"
REPORT = {
    "requests": 3, "events_read": 10, "written": 9, "duplicates": 1, "quarantined": {"stale": 0},
    "written_by_app": {"shop_web": 9}, "raw_files": 2, "output_files": 1, "duration_seconds": 42.0,
}  # fmt: skip


def emr_block(**overrides) -> dict:
    return {
        "application_id": APPLICATION_ID,
        "execution_role_arn": ROLE,
        "region": "us-east-1",
        "artifacts_uri": f"s3://{BUCKET}/emr/",
        "raw_uri": "s3://clickstream-lake/clickstream/test_project/data/buffer/",
        "ods_uri": "s3://clickstream-lake/ods",
        "log_uri": f"s3://{BUCKET}/logs/",
        **overrides,
    }


# The lake EMR reads: where this sink writes (raw_uri above is the same location).
S3_SINK = {"type": "s3", "s3": {"bucket": "clickstream-lake", "region": "eu-west-1"}}


def emr_config(tmp_path: Path, ingestion: dict | None = None, **emr_overrides):
    (tmp_path / "geo").mkdir(exist_ok=True)
    (tmp_path / "geo" / "GeoLite2-City.mmdb").write_bytes(b"fake maxmind database")
    processing = {
        "engine": "emr_serverless",
        "emr_serverless": emr_block(**emr_overrides),
        "enrichments": [
            {"name": IP_PLUGIN, "options": {"database": "geo/GeoLite2-City.mmdb", "cache": True}, "files": ["geo/GeoLite2-City.mmdb"]}
        ],
    }
    return make_config(tmp_path, pipeline={"sink": S3_SINK, "processing": processing, "ingestion": ingestion or {}})


class FakeEmrServerless:
    """start_job_run records the request and, like the real job, writes the report to the
    --report location when the scripted run ends in SUCCESS."""

    def __init__(self, states=("SUCCESS",), report: dict | None = REPORT, state_details: str = ""):
        self.states = list(states)
        self.report = report
        self.state_details = state_details
        self.submitted: list[dict] = []
        self.cancelled: list[str] = []

    def start_job_run(self, **params):
        self.submitted.append(copy.deepcopy(params))
        arguments = params["jobDriver"]["sparkSubmit"]["entryPointArguments"]
        if self.states[-1] == "SUCCESS" and self.report is not None:
            bucket, key = emr.split_s3_uri(arguments[arguments.index("--report") + 1])
            boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(self.report).encode())
        return {"applicationId": params["applicationId"], "jobRunId": f"jr{len(self.submitted)}", "arn": "arn:fake"}

    def get_job_run(self, applicationId, jobRunId):
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {"jobRun": {"applicationId": applicationId, "jobRunId": jobRunId, "state": state, "stateDetails": self.state_details}}

    def get_dashboard_for_job_run(self, **_):
        return {"url": "https://dashboard.example"}

    def get_application(self, applicationId):
        return {"application": {"applicationId": applicationId, "type": "Spark", "monitoringConfiguration": {}}}

    def cancel_job_run(self, applicationId, jobRunId):
        self.cancelled.append(jobRunId)


class SilentMessageReader(dg.PipesMessageReader):
    """The job sends no Pipes messages; CloudWatch's reader would wait 10 s to be sure."""

    @contextmanager
    def read_messages(self, handler):
        yield {}

    def no_messages_debug_text(self) -> str:
        return "test reader"


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield boto3.client("s3")


@pytest.fixture
def fake_emr(monkeypatch):
    fake = FakeEmrServerless()
    monkeypatch.setattr(EmrServerlessSparkJobResource, "emr_client", lambda self: fake)
    monkeypatch.setattr(EmrServerlessSparkJobResource, "message_reader", lambda self: SilentMessageReader())
    return fake


def materialize_hour(tmp_path: Path, config, resource: EmrServerlessSparkJobResource, **kwargs) -> dg.ExecuteInProcessResult:
    path = tmp_path / "clickstream.yaml"
    save_config(config, path)
    return dg.materialize(
        [ods_events],
        partition_key="2026-11-21-13:00",
        resources={"clickstream": ProjectResource(config_path=str(path)), "spark_job": resource},
        **kwargs,
    )


def keys(s3, prefix: str) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


# Configuration -------------------------------------------------------------------------------


def test_engine_defaults_to_local(tmp_path):
    processing = make_config(tmp_path).pipeline.processing
    assert processing.engine == "local" and processing.emr_serverless is None


def test_emr_engine_needs_its_block(tmp_path):
    with pytest.raises(ConfigError, match=r"pipeline\.processing: .*'emr_serverless:' block"):
        make_config(tmp_path, pipeline={"processing": {"engine": "emr_serverless"}})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("artifacts_uri", "s3://clickstream-artifacts/emr", "ending with '/'"),
        ("raw_uri", "/var/lake", "must be an s3://bucket/key URI"),
        ("execution_role_arn", "clickstream-emr-job", "must match"),
        ("spark_conf", {"spark.executor.extraJavaOptions": "-Xss4m -XX:+UseG1GC"}, "whitespace"),
    ],
)
def test_bad_emr_settings_name_the_field(tmp_path, field, value, message):
    with pytest.raises(ConfigError, match=rf"pipeline\.processing\.emr_serverless\.{field}: .*{message}"):
        make_config(
            tmp_path, pipeline={"sink": S3_SINK, "processing": {"engine": "emr_serverless", "emr_serverless": emr_block(**{field: value})}}
        )


def test_roots_are_normalised_without_trailing_slash(tmp_path):
    settings = emr_config(tmp_path).pipeline.processing.emr_serverless
    assert settings.raw_uri == "s3://clickstream-lake/clickstream/test_project/data/buffer"


def test_definitions_choose_emr_when_configured(tmp_path, monkeypatch):
    path = tmp_path / "clickstream.yaml"
    save_config(emr_config(tmp_path), path)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    resource = defs().resources["spark_job"]
    assert isinstance(resource, EmrServerlessSparkJobResource)
    assert resource.application_id == APPLICATION_ID
    assert resource.dependency_files["geo/GeoLite2-City.mmdb"] == str(tmp_path / "geo" / "GeoLite2-City.mmdb")


# Packaging -----------------------------------------------------------------------------------


def fake_repo(root: Path) -> Path:
    for name, text in {
        "__init__.py": "",
        "job.py": "print('job')",
        "base.py": "X = 1",
        "examples/__init__.py": "",
        "examples/drop.py": "Y = 2",
        "README.md": "docs",
        "__pycache__/base.cpython-311.pyc": "bytecode",
    }.items():
        (root / "plugins" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "plugins" / name).write_text(text)
    return root


def test_bundle_zips_only_python_sources_deterministically(tmp_path):
    repo = fake_repo(tmp_path / "repo")
    first, second = build_bundle(repo), build_bundle(repo)
    assert first == second
    names = zipfile.ZipFile(io.BytesIO(first.plugins_zip)).namelist()
    assert names == ["plugins/__init__.py", "plugins/base.py", "plugins/examples/__init__.py", "plugins/examples/drop.py", "plugins/job.py"]
    assert first.entry_point == b"print('job')"


def test_bundle_digest_follows_sources_and_files(tmp_path):
    repo = fake_repo(tmp_path / "repo")
    database = tmp_path / "GeoLite2-City.mmdb"
    database.write_bytes(b"v1")
    before = build_bundle(repo, [database]).digest
    assert build_bundle(repo).digest != before
    database.write_bytes(b"v2")
    assert build_bundle(repo, [database]).digest != before
    (repo / "plugins" / "base.py").write_text("X = 2")
    assert build_bundle(repo).digest != build_bundle(fake_repo(tmp_path / "other")).digest


def test_bundle_rejects_missing_and_clashing_files(tmp_path):
    repo = fake_repo(tmp_path / "repo")
    with pytest.raises(SparkJobError, match="not found: .*missing.mmdb"):
        build_bundle(repo, [tmp_path / "missing.mmdb"])
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "db.mmdb").write_bytes(folder.encode())
    with pytest.raises(SparkJobError, match="share the name 'db.mmdb'"):
        build_bundle(repo, [tmp_path / "a" / "db.mmdb", tmp_path / "b" / "db.mmdb"])


def test_real_plugins_package_is_importable_from_the_zip(tmp_path):
    bundle = build_bundle(REPO_ROOT)
    names = zipfile.ZipFile(io.BytesIO(bundle.plugins_zip)).namelist()
    assert {"plugins/__init__.py", "plugins/job.py", "plugins/base.py", "clickstream_contract/request_body.py"} <= set(names)
    assert bundle.entry_point == (REPO_ROOT / "plugins" / "job.py").read_bytes()


def test_upload_is_content_addressed_and_happens_once(tmp_path, aws):
    repo = fake_repo(tmp_path / "repo")
    database = tmp_path / "GeoLite2-City.mmdb"
    database.write_bytes(b"db")
    bundle = build_bundle(repo, [database])
    shipped, uploaded = upload_bundle(aws, bundle, f"s3://{BUCKET}/emr/")
    prefix = f"emr/jobs/{bundle.digest}/"
    assert uploaded and shipped.entry_point == f"s3://{BUCKET}/{prefix}job.py"
    assert keys(aws, "emr/") == [f"{prefix}files/GeoLite2-City.mmdb", f"{prefix}job.py", f"{prefix}manifest.json", f"{prefix}plugins.zip"]
    aws.put_object(Bucket=BUCKET, Key=f"{prefix}job.py", Body=b"left alone")
    assert upload_bundle(aws, bundle, f"s3://{BUCKET}/emr/") == (shipped, False)
    assert aws.get_object(Bucket=BUCKET, Key=f"{prefix}job.py")["Body"].read() == b"left alone"


def test_interrupted_upload_is_redone(tmp_path, aws):
    bundle = build_bundle(fake_repo(tmp_path / "repo"))
    aws.put_object(Bucket=BUCKET, Key=f"emr/jobs/{bundle.digest}/job.py", Body=b"partial")
    _, uploaded = upload_bundle(aws, bundle, f"s3://{BUCKET}/emr/")
    assert uploaded and aws.get_object(Bucket=BUCKET, Key=f"emr/jobs/{bundle.digest}/job.py")["Body"].read() == bundle.entry_point


# Arguments -----------------------------------------------------------------------------------


def test_local_arguments_are_rewritten_for_emr(tmp_path):
    from datetime import datetime

    config = emr_config(tmp_path)
    hour = datetime(2026, 11, 21, 13, tzinfo=UTC)
    local = [*job_arguments(config, hour, hour), "--master", "local[2]", "--shuffle-partitions", "4", "--report", "/tmp/r.json"]
    files = emr.dependency_files(config)
    settings = config.pipeline.processing.emr_serverless
    arguments = emr_job_arguments(
        local, raw_uri=settings.raw_uri, ods_uri=settings.ods_uri, files=files, report_uri="s3://b/runs/1/report.json"
    )

    def value(option):
        return arguments[arguments.index(option) + 1]

    assert value("--raw-root") == "s3://clickstream-lake/clickstream/test_project/data/buffer"
    assert value("--ods-root") == "s3://clickstream-lake/ods"
    assert value("--report") == "s3://b/runs/1/report.json" and arguments.count("--report") == 1
    assert "--master" not in arguments and "--shuffle-partitions" not in arguments
    assert json.loads(value("--plugin-options"))[IP_PLUGIN] == {"database": "GeoLite2-City.mmdb", "cache": True}
    # Everything else passes through in order.
    assert value("--from") == "2026-11-21T13" and value("--enrichment") == IP_PLUGIN
    assert arguments[arguments.index("--app-id") :][:6] == ["--app-id", "shop_android", "--app-id", "shop_ios", "--app-id", "shop_web"]


def test_resolved_path_in_options_is_rewritten_too(tmp_path):
    local = str(tmp_path / "geo" / "GeoLite2-City.mmdb")
    files = {"geo/GeoLite2-City.mmdb": local, local: local}
    options = json.dumps({IP_PLUGIN: {"database": local, "label": "geo/other.mmdb"}})
    arguments = emr_job_arguments(
        ["--plugin-options=" + options], raw_uri="s3://l/r", ods_uri="s3://l/o", files=files, report_uri="s3://b/r.json"
    )
    assert json.loads(arguments[1]) == {IP_PLUGIN: {"database": "GeoLite2-City.mmdb", "label": "geo/other.mmdb"}}


# Submission through Dagster Pipes ------------------------------------------------------------


def test_asset_submits_the_job_and_records_the_report(tmp_path, aws, fake_emr):
    config = emr_config(tmp_path)
    result = materialize_hour(tmp_path, config, EmrServerlessSparkJobResource.from_config(config))

    assert result.success
    [params] = fake_emr.submitted
    assert params["applicationId"] == APPLICATION_ID and params["executionRoleArn"] == ROLE
    assert params["name"] == "clickstream-test_project-2026-11-21T13-2026-11-21T13"
    assert params["executionTimeoutMinutes"] == 120
    assert params["configurationOverrides"] == {
        "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": f"s3://{BUCKET}/logs/"}}
    }
    [digest] = {key.split("/")[2] for key in keys(aws, "emr/jobs/")}
    job = f"s3://{BUCKET}/emr/jobs/{digest}/"
    driver = params["jobDriver"]["sparkSubmit"]
    assert driver["entryPoint"] == job + "job.py"
    assert driver["sparkSubmitParameters"].startswith(
        f"--py-files {job}plugins.zip --files {job}files/GeoLite2-City.mmdb --conf spark.dynamicAllocation.maxExecutors=20"
    )
    # Dagster Pipes adds its bootstrap environment for the driver and its tags.
    assert " --conf spark.emr-serverless.driverEnv.DAGSTER_PIPES_CONTEXT=" in driver["sparkSubmitParameters"]
    assert params["tags"]
    arguments = driver["entryPointArguments"]
    assert arguments[arguments.index("--raw-root") + 1] == "s3://clickstream-lake/clickstream/test_project/data/buffer"
    assert arguments[arguments.index("--report") + 1] == f"s3://{BUCKET}/emr/runs/{result.run_id}/report.json"
    assert json.loads(arguments[arguments.index("--plugin-options") + 1])[IP_PLUGIN]["database"] == "GeoLite2-City.mmdb"

    metadata = result.asset_materializations_for_node("lake__ods_events")[0].metadata
    assert metadata["rows_written"].value == 9 and metadata["spark_seconds"].value == 42.0


def test_the_ingestion_proxies_reach_the_job_on_emr(tmp_path, aws, fake_emr):
    # The IP enrichment takes the client as ingestion's access log does, with the same setting.
    config = emr_config(tmp_path, ingestion={"trusted_proxies": 1})
    assert materialize_hour(tmp_path, config, EmrServerlessSparkJobResource.from_config(config)).success
    arguments = fake_emr.submitted[0]["jobDriver"]["sparkSubmit"]["entryPointArguments"]
    assert arguments[arguments.index("--trusted-proxies") + 1] == "1"


def test_second_run_reuses_the_uploaded_job(tmp_path, aws, fake_emr):
    config = emr_config(tmp_path)
    resource = EmrServerlessSparkJobResource.from_config(config)
    materialize_hour(tmp_path, config, resource)
    uploaded = {key: aws.head_object(Bucket=BUCKET, Key=key)["ETag"] for key in keys(aws, "emr/jobs/")}
    materialize_hour(tmp_path, config, resource)
    assert {key: aws.head_object(Bucket=BUCKET, Key=key)["ETag"] for key in keys(aws, "emr/jobs/")} == uploaded
    assert len(fake_emr.submitted) == 2
    assert (
        fake_emr.submitted[0]["jobDriver"]["sparkSubmit"]["entryPoint"] == fake_emr.submitted[1]["jobDriver"]["sparkSubmit"]["entryPoint"]
    )


def test_failed_job_run_raises_with_emr_details(tmp_path, aws, fake_emr):
    fake_emr.states = ["RUNNING", "FAILED"]
    fake_emr.state_details = "Job failed, please check complete logs in configured logging destination. ExitCode: 1."
    config = emr_config(tmp_path)
    resource = EmrServerlessSparkJobResource.from_config(config).model_copy(update={"poll_interval_seconds": 1})
    with pytest.raises(
        SparkJobError,
        match=r"job run jr1 on application 00fm4oe0607u5a1d ended FAILED: Job failed, .*ExitCode: 1\..*logs under s3://clickstream-artifacts/logs/applications/00fm4oe0607u5a1d/jobs/jr1/",
    ):
        materialize_hour(tmp_path, config, resource)


def test_success_without_report_is_an_error(tmp_path, aws, fake_emr):
    fake_emr.report = None
    config = emr_config(tmp_path)
    with pytest.raises(SparkJobError, match=r"succeeded but wrote no report at s3://clickstream-artifacts/emr/runs/.*/report.json"):
        materialize_hour(tmp_path, config, EmrServerlessSparkJobResource.from_config(config))


def test_stale_report_of_an_earlier_attempt_is_not_read(tmp_path, aws, fake_emr, monkeypatch):
    fake_emr.report = None
    config = emr_config(tmp_path)
    monkeypatch.setattr(dg.AssetExecutionContext, "run_id", property(lambda self: "fixed-run"))
    aws.put_object(Bucket=BUCKET, Key="emr/runs/fixed-run/report.json", Body=json.dumps(REPORT).encode())
    with pytest.raises(SparkJobError, match="wrote no report"):
        materialize_hour(tmp_path, config, EmrServerlessSparkJobResource.from_config(config))


def test_run_without_context_is_refused(tmp_path):
    resource = EmrServerlessSparkJobResource.from_config(emr_config(tmp_path))
    with pytest.raises(SparkJobError, match="Dagster Pipes"):
        resource.run_job(["--from", "2026-11-21T13"])
