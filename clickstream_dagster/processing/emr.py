"""Running the processing job on EMR Serverless with Dagster Pipes.

The job is the same ``plugins/job.py`` that runs locally. It is shipped as the entry file plus a
zip of the packages it imports, ``plugins`` and ``clickstream_contract`` (``--py-files``) and the plugins' dependency files (``--files``),
all uploaded under ``<artifacts_uri>jobs/<content hash>/`` so an unchanged job is uploaded once.
The arguments the asset builds for a local run are rewritten for EMR: the roots become the S3
locations of the lake, options naming a dependency file name the shipped copy, and the report
goes to ``<artifacts_uri>runs/<dagster run id>/report.json``, which is read back when the job
run has succeeded.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import dagster as dg

from clickstream_dagster.processing.resources import REPO_ROOT, SparkJobError, SparkJobResource
from clickstream_project.config import EmrServerlessSettings, ProjectConfig

ENTRY_POINT_NAME = "job.py"
PLUGINS_ZIP_NAME = "plugins.zip"
# Written last: its presence means every other object of the bundle is complete.
MANIFEST_NAME = "manifest.json"
# Options of a local run that have no meaning on EMR (Spark runs where EMR puts it) or that
# this module sets itself.
DROPPED_OPTIONS = frozenset({"--master", "--shuffle-partitions", "--report"})
# A fixed timestamp keeps the zip identical for identical sources (zip's epoch is 1980).
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class JobBundle:
    """What one job run needs, addressed by a digest of its content."""

    digest: str
    entry_point: bytes
    plugins_zip: bytes
    files: tuple[Path, ...]


@dataclass(frozen=True)
class ShippedJob:
    """Where a bundle lives in S3."""

    prefix: str
    entry_point: str
    plugins_zip: str
    files: tuple[str, ...]

    @property
    def manifest(self) -> str:
        return self.prefix + MANIFEST_NAME


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


# Packaging -----------------------------------------------------------------------------------


# What the job imports: it must run with nothing but these two packages and pyspark.
JOB_PACKAGES = ("plugins", "clickstream_contract")


def job_sources(repo_root: Path) -> list[Path]:
    """The job packages' Python files, relative to the repository, in a stable order."""
    return sorted(
        path.relative_to(repo_root)
        for package in JOB_PACKAGES
        if (repo_root / package).is_dir()
        for path in (repo_root / package).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def zip_sources(repo_root: Path, sources: Sequence[Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for source in sources:
            info = zipfile.ZipInfo(source.as_posix(), date_time=ZIP_TIMESTAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (repo_root / source).read_bytes())
    return buffer.getvalue()


def _hash_part(digest: hashlib._Hash, name: str, chunks: Iterable[bytes], size: int) -> None:
    # Name and size frame each part, so moving bytes between parts changes the digest.
    digest.update(f"{name}\0{size}\0".encode())
    for chunk in chunks:
        digest.update(chunk)


def _file_chunks(path: Path, size: int = 1024 * 1024) -> Iterable[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def build_bundle(repo_root: Path, dependency_files: Iterable[str | Path] = ()) -> JobBundle:
    """Package the job. The digest covers the sources and files themselves, not the zip bytes,
    so it does not change with the zlib version of the machine that packages."""
    files = tuple(sorted({Path(f) for f in dependency_files}))
    by_name: dict[str, Path] = {}
    for file in files:
        if not file.is_file():
            raise SparkJobError(f"plugin dependency file not found: {file}")
        # --files puts every file in one flat directory (SparkFiles), so names must be unique.
        if file.name in by_name:
            raise SparkJobError(f"plugin dependency files {by_name[file.name]} and {file} share the name {file.name!r}")
        by_name[file.name] = file

    entry_point = (repo_root / "plugins" / ENTRY_POINT_NAME).read_bytes()
    sources = job_sources(repo_root)
    digest = hashlib.sha256()
    _hash_part(digest, ENTRY_POINT_NAME, [entry_point], len(entry_point))
    for source in sources:
        content = (repo_root / source).read_bytes()
        _hash_part(digest, source.as_posix(), [content], len(content))
    for file in files:
        _hash_part(digest, f"files/{file.name}", _file_chunks(file), file.stat().st_size)
    return JobBundle(
        digest=digest.hexdigest()[:32],
        entry_point=entry_point,
        plugins_zip=zip_sources(repo_root, sources),
        files=files,
    )


def shipped_locations(bundle: JobBundle, artifacts_uri: str) -> ShippedJob:
    prefix = f"{artifacts_uri}jobs/{bundle.digest}/"
    return ShippedJob(
        prefix=prefix,
        entry_point=prefix + ENTRY_POINT_NAME,
        plugins_zip=prefix + PLUGINS_ZIP_NAME,
        files=tuple(f"{prefix}files/{file.name}" for file in bundle.files),
    )


def _exists(s3: Any, uri: str) -> bool:
    bucket, key = split_s3_uri(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return True


def upload_bundle(s3: Any, bundle: JobBundle, artifacts_uri: str) -> tuple[ShippedJob, bool]:
    """Upload the bundle unless its manifest is there already; returns where it lives and
    whether anything was uploaded."""
    shipped = shipped_locations(bundle, artifacts_uri)
    if _exists(s3, shipped.manifest):
        return shipped, False
    for uri, body in ((shipped.entry_point, bundle.entry_point), (shipped.plugins_zip, bundle.plugins_zip)):
        bucket, key = split_s3_uri(uri)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    for file, uri in zip(bundle.files, shipped.files, strict=True):
        bucket, key = split_s3_uri(uri)
        s3.upload_file(str(file), bucket, key)  # multipart for large databases
    manifest = {"digest": bundle.digest, "entry_point": shipped.entry_point, "py_files": shipped.plugins_zip, "files": list(shipped.files)}
    bucket, key = split_s3_uri(shipped.manifest)
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest, indent=2).encode())
    return shipped, True


# Submission ----------------------------------------------------------------------------------


def dependency_files(config: ProjectConfig) -> dict[str, str]:
    """Plugin dependency files of the configuration: each spelling an option may use (as
    written in ``files``, and resolved) → the absolute local file. Relative entries resolve
    against the configuration file's directory."""
    processing = config.pipeline.processing
    mapping: dict[str, str] = {}
    for spec in (processing.transformer, *processing.enrichments):
        for entry in spec.files:
            path = Path(entry).expanduser()
            local = str(path if path.is_absolute() else (config.base_dir / path).resolve())
            mapping[entry] = local
            mapping[local] = local
    return mapping


def rewrite_plugin_options(options: Mapping[str, Mapping[str, object]], files: Mapping[str, str]) -> dict[str, dict[str, object]]:
    """Options naming a dependency file name its shipped copy instead: the bare file name,
    which the job resolves with ``SparkFiles.get``."""
    return {
        plugin: {
            key: Path(files[value]).name if isinstance(value, str) and value in files else value for key, value in plugin_options.items()
        }
        for plugin, plugin_options in options.items()
    }


def emr_job_arguments(job_args: Sequence[str], *, raw_uri: str, ods_uri: str, files: Mapping[str, str], report_uri: str) -> list[str]:
    """The local job arguments rewritten for EMR; options this function does not know pass
    through unchanged. A source's run (``--source``) keeps its raw root: the source's own
    prefix in the S3 sink's bucket (ProjectConfig.source_raw_lake), not ``raw_uri``."""
    replaced = (
        {"--ods-root": ods_uri}
        if any(token.partition("=")[0] == "--source" for token in job_args)
        else {"--raw-root": raw_uri, "--ods-root": ods_uri}
    )
    arguments: list[str] = []
    tokens = iter(job_args)
    for token in tokens:
        option, has_inline_value, inline_value = token.partition("=")
        if not option.startswith("--") or option not in {*replaced, *DROPPED_OPTIONS, "--plugin-options"}:
            arguments.append(token)
            continue
        value = inline_value if has_inline_value else next(tokens, None)
        if value is None:
            raise SparkJobError(f"job argument {option} has no value")
        if option in DROPPED_OPTIONS:
            continue
        if option == "--plugin-options":
            value = json.dumps(rewrite_plugin_options(json.loads(value), files), sort_keys=True)
        arguments += [option, replaced.get(option, value)]
    return [*arguments, "--report", report_uri]


def spark_submit_parameters(shipped: ShippedJob, spark_conf: Mapping[str, str]) -> str:
    parts = ["--py-files", shipped.plugins_zip]
    if shipped.files:
        parts += ["--files", ",".join(shipped.files)]
    for key in sorted(spark_conf):
        parts += ["--conf", f"{key}={spark_conf[key]}"]
    return " ".join(parts)


def start_job_run_params(settings: EmrServerlessSettings, shipped: ShippedJob, arguments: Sequence[str], *, name: str) -> dict[str, Any]:
    """The ``start_job_run`` request (before Dagster Pipes adds its tags and environment)."""
    params: dict[str, Any] = {
        "applicationId": settings.application_id,
        "executionRoleArn": settings.execution_role_arn,
        "name": name,
        "jobDriver": {
            "sparkSubmit": {
                "entryPoint": shipped.entry_point,
                "entryPointArguments": list(arguments),
                "sparkSubmitParameters": spark_submit_parameters(shipped, settings.spark_conf),
            }
        },
        "executionTimeoutMinutes": settings.timeout_minutes,
    }
    monitoring: dict[str, Any] = {}
    if settings.log_uri:
        monitoring["s3MonitoringConfiguration"] = {"logUri": settings.log_uri}
    if settings.cloudwatch_log_group:
        monitoring["cloudWatchLoggingConfiguration"] = {"enabled": True, "logGroupName": settings.cloudwatch_log_group}
    if monitoring:
        params["configurationOverrides"] = {"monitoringConfiguration": monitoring}
    return params


def job_run_name(job_args: Sequence[str]) -> str:
    """``clickstream-<project>-<from>-<to>``: what the EMR console lists."""

    def value(option: str) -> str | None:
        return next((job_args[i + 1] for i, token in enumerate(job_args[:-1]) if token == option), None)

    first = value("--from")
    parts = ["clickstream", value("--project-id"), first, value("--to") or first]
    return "-".join(part for part in parts if part)[:256]


def describe_failed_run(job_run: Mapping[str, Any], log_uri: str | None) -> str:
    where = ""
    if log_uri:
        where = f"; logs under {log_uri.rstrip('/')}/applications/{job_run.get('applicationId')}/jobs/{job_run.get('jobRunId')}/"
    return (
        f"EMR Serverless job run {job_run.get('jobRunId')} on application {job_run.get('applicationId')} "
        f"ended {job_run.get('state')}: {job_run.get('stateDetails') or 'no details given'}{where}"
    )


class _RecordingEmrClient:
    """The boto3 client as the Pipes client sees it, remembering the job run it started so a
    failure can be reported with EMR's own explanation (the Pipes client only logs it)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.started: dict[str, Any] | None = None

    def start_job_run(self, **params: Any) -> dict[str, Any]:
        self.started = self._client.start_job_run(**params)
        return self.started

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class EmrServerlessSparkJobResource(SparkJobResource):
    """Runs the processing job on an existing EMR Serverless application. Fields mirror
    ``pipeline.processing.emr_serverless`` (see :meth:`from_config`)."""

    application_id: str
    execution_role_arn: str
    region: str | None = None
    artifacts_uri: str
    # ProjectConfig.raw_uri: given even where the configuration derives it from the S3 sink.
    raw_uri: str
    ods_uri: str
    spark_conf: dict[str, str] = {}  # noqa: RUF012 (pydantic copies field defaults)
    log_uri: str | None = None
    cloudwatch_log_group: str | None = None
    timeout_minutes: int = 120
    poll_interval_seconds: float = 15
    # Option spelling → local file, from dependency_files(config).
    dependency_files: dict[str, str] = {}  # noqa: RUF012 (pydantic copies field defaults)
    repo_root: str = str(REPO_ROOT)

    @classmethod
    def from_config(cls, config: ProjectConfig) -> EmrServerlessSparkJobResource:
        settings = config.pipeline.processing.emr_serverless
        if settings is None:
            raise ValueError("pipeline.processing.emr_serverless is not configured")
        # raw_uri: the configuration's one raw lake, which the sensor lists too.
        return cls(**{**settings.model_dump(), "raw_uri": config.raw_uri}, dependency_files=dependency_files(config))

    @property
    def settings(self) -> EmrServerlessSettings:
        fields = EmrServerlessSettings.model_fields
        return EmrServerlessSettings.model_validate({name: getattr(self, name) for name in fields})

    def s3_client(self) -> Any:
        return boto3.client("s3", region_name=self.region)

    def emr_client(self) -> Any:
        return boto3.client("emr-serverless", region_name=self.region)

    def message_reader(self) -> dg.PipesMessageReader:
        # Streams the driver's stdout/stderr (and Pipes messages, if the job sends any) from
        # CloudWatch; without cloudwatch_log_group there is nothing to read and Pipes says so.
        from dagster_aws.pipes import PipesCloudWatchMessageReader

        return PipesCloudWatchMessageReader(client=boto3.client("logs", region_name=self.region))

    def run_job(
        self,
        job_args: list[str],
        log: dg.DagsterLogManager | None = None,
        context: dg.AssetExecutionContext | dg.OpExecutionContext | None = None,
    ) -> dict:
        if context is None:
            raise SparkJobError("EMR Serverless job runs go through Dagster Pipes: call run_job(..., context=context)")
        log = log or context.log
        settings = self.settings

        s3 = self.s3_client()
        bundle = build_bundle(Path(self.repo_root), set(self.dependency_files.values()))
        shipped, uploaded = upload_bundle(s3, bundle, settings.artifacts_uri)
        log.info(f"job files {'uploaded to' if uploaded else 'already at'} {shipped.prefix}")

        report_uri = f"{settings.artifacts_uri}runs/{context.run_id}/report.json"
        report_bucket, report_key = split_s3_uri(report_uri)
        # A retried step must not read the report an earlier attempt left behind.
        s3.delete_object(Bucket=report_bucket, Key=report_key)
        arguments = emr_job_arguments(
            job_args, raw_uri=settings.raw_uri, ods_uri=settings.ods_uri, files=self.dependency_files, report_uri=report_uri
        )
        params = start_job_run_params(settings, shipped, arguments, name=job_run_name(job_args))
        log.info(f"submitting {shipped.entry_point} {' '.join(arguments)} to EMR Serverless application {settings.application_id}")

        # Imported here: dagster_aws costs every run and sensor tick ~1 s to import, and only
        # EMR runs use it.
        from dagster_aws.pipes import PipesEMRServerlessClient

        emr = _RecordingEmrClient(self.emr_client())
        pipes = PipesEMRServerlessClient(client=emr, message_reader=self.message_reader(), poll_interval=self.poll_interval_seconds)
        try:
            pipes.run(context=context, start_job_run_params=params)
        except RuntimeError as error:
            if emr.started is None:
                raise
            job_run = emr.get_job_run(applicationId=emr.started["applicationId"], jobRunId=emr.started["jobRunId"])["jobRun"]
            raise SparkJobError(describe_failed_run(job_run, settings.log_uri)) from error

        try:
            body = s3.get_object(Bucket=report_bucket, Key=report_key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            raise SparkJobError(f"the EMR Serverless job run succeeded but wrote no report at {report_uri}") from None
        return json.loads(body)
