"""The project configuration file: one YAML document per project.

Ingestion, processing, modeling and Dagster all read the same validated model. Ids are checked
against narrow patterns because they become directory names, S3 keys and SQL schema names.
Relative paths are resolved against the directory of the configuration file, so a project
folder can be moved as a whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from clickstream_contract.ip_anonymization import IpAnonymization
from clickstream_contract.job_defaults import DEFAULT_EVENT_FRESHNESS_HOURS, DEFAULT_FUTURE_TOLERANCE_MINUTES, DEFAULT_TRANSFORMER
from clickstream_contract.raw_lake import DEFAULT_PREFIX, raw_files_prefix, source_files_prefix
from clickstream_contract.request_body import MAX_DECODED_BYTES
from clickstream_project.console_settings import ConsoleSettings
from clickstream_project.operations_settings import AlertSettings, AutomationSettings, HealthSettings, valid_cron
from clickstream_project.source_settings import Source
from clickstream_project.value_rules import bucket_name, iana_time_zone, no_control_characters, not_a_warehouse_name, render_prefix, s3_uri

PROJECT_ID_PATTERN = r"^[a-z][a-z0-9_]{0,126}$"
# Sinks whose lake a source (pipeline.sources) can land files in itself; the Kinesis and Kafka
# sinks deliver through Firehose or Kafka Connect, outside the platform.
SOURCE_SINKS = ("local", "s3")
APP_ID_PATTERN = r"^[a-zA-Z][a-zA-Z0-9_]{0,126}$"
CONFIG_ENV_VAR = "CLICKSTREAM_CONFIG"
DEFAULT_CONFIG_NAME = "clickstream.yaml"

ProjectId = Annotated[str, StringConstraints(pattern=PROJECT_ID_PATTERN)]
AppId = Annotated[str, StringConstraints(pattern=APP_ID_PATTERN), AfterValidator(not_a_warehouse_name)]
# A local file or directory. Quotes and spaces are fine (the SQL layer quotes every path,
# dbt_project/macros/sql_string.sql); control characters are not.
LocalPath = Annotated[str, AfterValidator(no_control_characters)]
S3Uri = Annotated[str, AfterValidator(s3_uri)]
BucketName = Annotated[str, AfterValidator(bucket_name)]
Platform = Literal["Android", "iOS", "Web"]


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    # Unknown keys are almost always typos ("buffer_sise_mib"); failing loudly beats ignoring.
    model_config = ConfigDict(extra="forbid", frozen=True)


class App(_Strict):
    app_id: AppId
    name: str = Field(min_length=1, max_length=256)
    platforms: list[Platform] = Field(min_length=1)
    # Android application id or iOS bundle id; web apps have none.
    package_name: str | None = Field(default=None, max_length=256)
    # A sentence or two for the people who read the project file and the console, not a document.
    description: str = Field(default="", max_length=2000)
    # The zone its reports' days and date ranges are in by default (an IANA name); UTC is always offered too.
    time_zone: Annotated[str, AfterValidator(iana_time_zone)] = "UTC"


class OidcSettings(_Strict):
    """Optional bearer-token check: tokens must be signed by a key of the issuer's JWKS."""

    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    # Default: <issuer>/.well-known/jwks.json is not assumed; the URL is explicit.
    jwks_url: str = Field(min_length=1)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256"], min_length=1)
    # Clock skew tolerated on exp/nbf/iat between the token issuer and this server.
    leeway_seconds: int = Field(default=60, ge=0, le=3600)
    # How long fetched signing keys are trusted before the JWKS is fetched again.
    jwks_cache_seconds: int = Field(default=300, ge=0, le=86400)


class IngestionSettings(_Strict):
    path: str = Field(default="/collect", pattern=r"^/[A-Za-z0-9_\-/]{0,127}$")
    # The address SDKs are told to send to (written into amplifyconfiguration.json).
    public_endpoint: str = "http://127.0.0.1:8088"
    bind: str = "127.0.0.1:8088"
    workers: int = Field(default=2, ge=1, le=64)
    cors_origins: list[str] = Field(default_factory=list)
    # The official SDKs cap a request at 512 KB; 1 MiB leaves room for base64 overhead.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # What a gzip body may inflate to (unset: max_body_bytes). A compressed request carries no
    # more JSON than a plain one may: 1 MiB by default is twice the SDKs' 512 KB, and it stops
    # a 16 KB gzip of `[{},{},...]` from becoming 16 MiB and millions of objects.
    # At most what processing decodes (clickstream_contract/request_body.py), so an accepted body is processed.
    max_decompressed_bytes: int | None = Field(default=None, ge=1024, le=MAX_DECODED_BYTES)
    # Events in one request; the SDKs send at most 100. 413 above this.
    max_events_per_request: int = Field(default=1000, ge=1, le=100_000)
    # Slow clients (slowloris): a request's headers must arrive within header_timeout_seconds
    # of its connection (or of its keep-alive turn); its body within body_timeout_seconds of
    # the headers, extended by one second for every body_min_bytes_per_second received (the
    # rule of Apache's mod_reqtimeout); the whole request within request_timeout_seconds.
    # Until then the request is read by the worker's event loop, not by a request thread, so
    # slow senders hold no thread. 1 MiB at 500 B/s would take 35 minutes; the 60 s deadline
    # makes the slowest admitted full-size body ~17 KB/s, still below a 2G (EDGE) uplink.
    header_timeout_seconds: int = Field(default=10, ge=1, le=600)
    body_timeout_seconds: int = Field(default=10, ge=1, le=600)
    body_min_bytes_per_second: int = Field(default=500, ge=1, le=100 * 1024 * 1024)
    request_timeout_seconds: int = Field(default=60, ge=1, le=3600)
    # How long a browser may cache a CORS preflight; Chromium caps it at 2 hours, so more buys
    # little (Firefox caps it at 24 hours, the upper bound here).
    cors_max_age_seconds: int = Field(default=7200, ge=1, le=86400)
    # The Retry-After of a 503 (spool full, sink failing): how long the SDKs wait before retrying.
    retry_after_seconds: int = Field(default=5, ge=1, le=3600)
    # Load balancers/proxies in front of the service that append to X-Forwarded-For; the client
    # address is the entry that many hops from the right (0: the socket peer, XFF is ignored).
    trusted_proxies: int = Field(default=0, ge=0, le=10)
    # truncate: the client address (chosen as above) loses its last IPv4 octet / last 80 IPv6
    # bits before anything is written, raw record and access log alike; the raw record then
    # holds that one address instead of the X-Forwarded-For header, whose other entries
    # (a forged one, a corporate proxy's inside address) would be full addresses
    # (clickstream_contract/ip_anonymization.py).
    ip_anonymization: IpAnonymization = "none"
    # The app-id allow-list is re-read from this file when it changes, checked at most this often.
    app_reload_seconds: int = Field(default=5, ge=1, le=3600)
    auth: OidcSettings | None = None
    # Local spool: every accepted request is appended here before the 200 (see ingestion/spool).
    spool_dir: LocalPath = "spool"
    # Above this the service answers 503 + Retry-After and the SDKs keep their events.
    spool_max_mib: int = Field(default=1024, ge=1, le=1024 * 1024)
    # batch: fsync every request before answering (survives power loss, costs a disk flush per
    # request); interval: fsync every fsync_interval_ms (a crash of the process loses nothing,
    # a power loss at most that window).
    fsync: Literal["batch", "interval"] = "interval"
    fsync_interval_ms: int = Field(default=200, ge=10, le=60_000)
    # A sink failing continuously for longer than this makes the service refuse (503) even
    # with room in the spool, so an outage is noticed by clients and load balancers.
    max_sink_outage_seconds: int = Field(default=3600, ge=10, le=7 * 86400)
    metrics: bool = True
    access_log: bool = True

    @property
    def decompressed_limit(self) -> int:
        """What a gzip body may inflate to: max_decompressed_bytes, or unset as much as a plain
        body may carry, never above what processing decodes (an accepted body is processed)."""
        return self.max_decompressed_bytes or min(self.max_body_bytes, MAX_DECODED_BYTES)


class S3SinkSettings(_Strict):
    bucket: BucketName
    region: str | None = None
    # For S3-compatible stores and tests (moto); credentials come from the usual AWS chain.
    endpoint_url: str | None = None


class KinesisSinkSettings(_Strict):
    stream_name: str = Field(pattern=r"^[a-zA-Z0-9_.\-]{1,128}$")
    region: str | None = None
    endpoint_url: str | None = None
    # Records per shipment and the longest a record waits in the spool (the product's knobs).
    batch_size: int = Field(default=10_000, ge=1, le=10_000)
    max_interval_seconds: int = Field(default=300, ge=0, le=300)


class KafkaSinkSettings(_Strict):
    bootstrap_servers: str = Field(min_length=1)
    # Default topic: the project id (the product's default).
    topic: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9._\-]{1,249}$")
    batch_size: int = Field(default=5_000, ge=1, le=50_000)
    max_interval_seconds: int = Field(default=300, ge=0, le=3_000)
    # Passed to the confluent-kafka producer as is (security.protocol, sasl.*, ...).
    producer_config: dict[str, str | int | bool] = Field(default_factory=dict)


# The sink's seal interval: the product's minimum (its S3 buffer), and the local sink's.
SINK_MIN_INTERVAL_SECONDS = 60
LOCAL_SINK_MIN_INTERVAL_SECONDS = 5


class SinkSettings(_Strict):
    type: Literal["local", "s3", "kinesis", "kafka"] = "local"
    # Root of the raw data lake for the local sink (a directory laid out like an S3 bucket).
    path: LocalPath = "lake"
    # Key prefix inside the lake or bucket; "{project_id}" is substituted (render_prefix).
    prefix: str = DEFAULT_PREFIX
    # The product's limits for its S3 sink buffer: 1-50 MiB and 60-3600 s. The 60 s minimum is
    # about S3 objects (request cost, many small objects); a local file can seal every few
    # seconds, which is what lets a micro-batch see events within a minute (LOCAL_SINK_MIN_INTERVAL_SECONDS).
    buffer_size_mib: int = Field(default=10, ge=1, le=50)
    buffer_interval_seconds: int = Field(default=300, ge=LOCAL_SINK_MIN_INTERVAL_SECONDS, le=3600)
    s3: S3SinkSettings | None = None
    kinesis: KinesisSinkSettings | None = None
    kafka: KafkaSinkSettings | None = None

    @field_validator("prefix")
    @classmethod
    def _safe_prefix(cls, value: str) -> str:
        # Any valid project id renders the same way as this one: PROJECT_ID_PATTERN holds no
        # '/' or '.', so a placeholder can neither add a segment nor make one '..'.
        render_prefix(value, "p")
        return value

    @field_validator("buffer_interval_seconds")
    @classmethod
    def _interval_for_type(cls, value: int, info: ValidationInfo) -> int:
        # `type` is declared first, so it is validated (and in info.data) by now.
        sink_type = info.data.get("type", "local")
        if sink_type != "local" and value < SINK_MIN_INTERVAL_SECONDS:
            raise ValueError(
                f"must be at least {SINK_MIN_INTERVAL_SECONDS} s for sink type {sink_type!r} "
                f"(only the local sink may seal every {LOCAL_SINK_MIN_INTERVAL_SECONDS}-{SINK_MIN_INTERVAL_SECONDS} s)"
            )
        return value

    @model_validator(mode="after")
    def _settings_for_type(self) -> SinkSettings:
        if self.type != "local" and getattr(self, self.type) is None:
            raise ValueError(f"type {self.type!r} needs a '{self.type}:' block with its settings")
        return self


class PluginSpec(_Strict):
    """A processing plugin by dotted name (``package.module.ClassName``), with the keyword
    options its constructor takes and the files it needs at run time (an ``.mmdb`` database,
    a model...). Locally the files are read in place; on EMR Serverless they are uploaded with
    the job and options naming them are rewritten to the shipped copies."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)
    files: list[str] = Field(default_factory=list)


def _plugin_spec(value: object) -> object:
    # A bare dotted name is the common case in a config file.
    return {"name": value} if isinstance(value, str) else value


IAM_ROLE_ARN_PATTERN = r"^arn:aws[a-z\-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/\-]+$"


class EmrServerlessSettings(_Strict):
    """Where and how the processing job runs on EMR Serverless. The application and the role
    exist already (see deploy/emr-serverless/); Dagster uploads the job with its plugins and
    files under ``artifacts_uri`` and submits one job run per processed range of hours."""

    # EMR Serverless application ids are 16 lowercase letters and digits ("00fm4oe0607u5a1d").
    application_id: str = Field(pattern=r"^[0-9a-z]{1,64}$")
    execution_role_arn: str = Field(pattern=IAM_ROLE_ARN_PATTERN)
    region: str | None = None
    # Job files are content-addressed below <artifacts_uri>jobs/<hash>/, run reports below
    # <artifacts_uri>runs/<dagster run id>/.
    artifacts_uri: S3Uri
    # The job's --raw-root and --ods-root on EMR: the raw lake (year=/month=/day=/hour=/ below
    # it) and the root of ods_events/ and quarantine/. With the S3 sink the raw lake is where it
    # writes (ProjectConfig.raw_uri): leave raw_uri out, or give that same location. Firehose and
    # Kafka Connect deliver where their own settings say, which only raw_uri tells Dagster.
    raw_uri: S3Uri | None = None
    ods_uri: S3Uri
    # Passed as --conf to spark-submit. Capping executors bounds the cost of a large backfill;
    # 20 executors of EMR Serverless' default 4 vCPU/16 GB process about a day of a mid-sized app
    # in minutes. spark.archives / spark.emr-serverless.driverEnv.PYSPARK_PYTHON go here when
    # plugins need packages that the EMR image lacks (a packed virtualenv).
    spark_conf: dict[str, str] = Field(default_factory=lambda: {"spark.dynamicAllocation.maxExecutors": "20"})
    # Spark event logs and driver/executor logs; the application's own setting applies when unset.
    log_uri: S3Uri | None = None
    # Driver stdout/stderr go to this CloudWatch log group, and Dagster streams them into the
    # run's logs (Dagster Pipes); unset: no CloudWatch logging requested by the job run.
    cloudwatch_log_group: str | None = Field(default=None, pattern=r"^[\.\-_/#A-Za-z0-9]{1,512}$")
    # EMR Serverless cancels a job run after this long (its executionTimeoutMinutes).
    timeout_minutes: int = Field(default=120, ge=5, le=7 * 24 * 60)
    # How often Dagster asks EMR Serverless for the job run's state.
    poll_interval_seconds: float = Field(default=15, ge=1, le=600)

    @field_validator("artifacts_uri")
    @classmethod
    def _prefix_uri(cls, value: str) -> str:
        if not value.endswith("/"):
            raise ValueError("must be a prefix ending with '/', like s3://bucket/clickstream/emr/")
        return value

    @field_validator("raw_uri", "ods_uri")
    @classmethod
    def _root_uri(cls, value: str | None) -> str | None:
        # The job appends year=/month=/... and ods_events/ itself.
        return None if value is None else value.rstrip("/")

    @field_validator("spark_conf")
    @classmethod
    def _plain_conf(cls, conf: dict[str, str]) -> dict[str, str]:
        # sparkSubmitParameters is one string split on whitespace by EMR Serverless.
        for key, value in conf.items():
            if not key.startswith("spark.") or any(c.isspace() for c in key + value):
                raise ValueError(f"{key!r}: keys start with 'spark.' and neither key nor value may contain whitespace")
        return conf


class ProcessingSettings(_Strict):
    # The product's "data processing interval": a fixed rate in minutes or a cron expression.
    interval_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    cron: str | None = None
    event_freshness_hours: int = Field(default=DEFAULT_EVENT_FRESHNESS_HOURS, ge=1, le=24 * 365)
    # The first UTC day of raw data: the hourly partitions of lake/raw_events and lake/ods_events
    # start here, so the UI shows the hours the project can have. Raw hours before it are neither
    # shown nor listed by the sensor or the schedule (process them with plugins/job.py, or move
    # the date back). The default reaches back to the AWS solution's archives.
    start_date: date = date(2024, 1, 1)
    ods_path: LocalPath = "ods"
    spark_master: str = "local[2]"
    # Exactly one transformer runs first; enrichments follow in order (the product's model).
    transformer: PluginSpec = Field(default_factory=lambda: PluginSpec(name=DEFAULT_TRANSFORMER))
    # UA enrichment needs nothing; IP enrichment needs a City database, so it is opt-in
    # (plugins/ENRICHMENT.md says where to get one and how to add it).
    enrichments: list[PluginSpec] = Field(default_factory=lambda: [PluginSpec(name="plugins.enrich_ua.UserAgentEnrichment")])
    # Events whose client time is further than this ahead of their arrival go to the quarantine.
    future_tolerance_minutes: int = Field(default=DEFAULT_FUTURE_TOLERANCE_MINUTES, ge=0, le=7 * 24 * 60)
    # Where the Spark job runs: a local child process, or EMR Serverless (needs the block below).
    engine: Literal["local", "emr_serverless"] = "local"
    emr_serverless: EmrServerlessSettings | None = None

    @field_validator("transformer", mode="before")
    @classmethod
    def _transformer_spec(cls, value: object) -> object:
        return _plugin_spec(value)

    @field_validator("enrichments", mode="before")
    @classmethod
    def _enrichment_specs(cls, value: object) -> object:
        return [_plugin_spec(item) for item in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _engine_settings(self) -> ProcessingSettings:
        if self.engine == "emr_serverless" and self.emr_serverless is None:
            raise ValueError("engine 'emr_serverless' needs an 'emr_serverless:' block with its settings")
        return self

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else valid_cron(value)

    @model_validator(mode="after")
    def _one_interval(self) -> ProcessingSettings:
        if self.cron is not None and self.interval_minutes is not None:
            raise ValueError("set either interval_minutes or cron, not both")
        minutes = self.interval_minutes
        # A fixed rate must map onto a cron expression without drift across the hour or day.
        if minutes is not None and not (60 % minutes == 0 or (minutes % 60 == 0 and 1440 % minutes == 0)):
            raise ValueError("interval_minutes must divide 60 or be a whole number of hours dividing 24 h")
        return self

    @property
    def schedule_cron(self) -> str:
        """The processing interval as a cron expression (default: hourly, the product's default)."""
        if self.cron:
            return self.cron
        minutes = self.interval_minutes or 60
        if minutes < 60:
            return f"*/{minutes} * * * *"
        if minutes == 24 * 60:
            return "0 0 * * *"
        return "0 * * * *" if minutes == 60 else f"0 */{minutes // 60} * * *"


class RedshiftSettings(_Strict):
    """How processed events reach Redshift: COPY from the lake with a manifest of the new files
    (dbt_project/README.md). The connection itself is the dbt profile's (environment variables)."""

    # The role Redshift assumes to read the Parquet (associated with the namespace or cluster).
    copy_iam_role_arn: str = Field(pattern=IAM_ROLE_ARN_PATTERN)
    # The console's reports connect as this user, which has USAGE and SELECT on the app schemas and
    # nothing else (deploy/warehouse/README.md); host, port and database are the dbt profile's.
    reader_user: str = Field(default="clickstream_reader", pattern=r"^[a-z_][a-z0-9_$]{0,126}$")
    reader_password_env: str = Field(default="CLICKSTREAM_REDSHIFT_READER_PASSWORD", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class AthenaSettings(_Strict):
    """Where the console's reports run on Athena; the builds use the dbt profile's work group."""

    # Its own work group, whose enforced output location is the one place the console's role may
    # write (query results); see deploy/warehouse/README.md.
    reader_work_group: str = Field(default="clickstream_console", pattern=r"^[a-zA-Z0-9._-]{1,128}$")
    # None: the AWS default chain (AWS_REGION, the task's region).
    region_name: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    # Only for a work group that does not enforce its output location.
    output_location: S3Uri | None = None


class ModelingSettings(_Strict):
    # Also the dbt target (dbt_project/profiles.yml) the Dagster assets build.
    engine: Literal["duckdb", "redshift", "athena"] = "duckdb"
    duckdb_path: LocalPath = "warehouse/clickstream.duckdb"
    # Hot data older than this is deleted from the warehouse (the product's Redshift data range).
    data_range_days: int = Field(default=365, ge=1, le=3650)
    redshift: RedshiftSettings | None = None
    athena: AthenaSettings = Field(default_factory=AthenaSettings)

    @model_validator(mode="after")
    def _settings_for_engine(self) -> ModelingSettings:
        if self.engine == "redshift" and self.redshift is None:
            raise ValueError("engine 'redshift' needs a 'redshift:' block with copy_iam_role_arn")
        return self


class PipelineSettings(_Strict):
    ingestion: IngestionSettings = Field(default_factory=IngestionSettings)
    sink: SinkSettings = Field(default_factory=SinkSettings)
    processing: ProcessingSettings = Field(default_factory=ProcessingSettings)
    modeling: ModelingSettings = Field(default_factory=ModelingSettings)
    automation: AutomationSettings = Field(default_factory=AutomationSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    # Streams the platform reads itself (clickstream_project/source_settings.py).
    sources: list[Source] = Field(default_factory=list)

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, sources: list[Source]) -> list[Source]:
        names = [source.name for source in sources]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate source name(s) {', '.join(map(repr, duplicates))}: each names its own lake directory")
        return sources

    @model_validator(mode="after")
    def _warehouse_reads_the_lake(self) -> PipelineSettings:
        # Redshift COPY and Athena read ods_events from S3: Spark must write it there.
        if self.modeling.engine != "duckdb" and self.processing.engine != "emr_serverless":
            raise ValueError(
                f"modeling.engine {self.modeling.engine!r} reads ods_events from S3, where only "
                "processing.engine 'emr_serverless' writes it (set processing.engine and its emr_serverless block)"
            )
        return self


class ProjectConfig(_Strict):
    project_id: ProjectId
    # Where the embedded deployment keeps its lake, Parquet, warehouse and Dagster home.
    data_dir: LocalPath = "var"
    apps: list[App] = Field(default_factory=list)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    # Directory of the file this was loaded from; relative paths resolve against it.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    @model_validator(mode="after")
    def _one_raw_lake(self) -> ProjectConfig:
        # The sensor lists one location and Spark reads the other: they must be the same.
        emr = self.pipeline.processing.emr_serverless
        if self.pipeline.processing.engine == "emr_serverless" and self.pipeline.sink.type == "local":
            raise _field_error(
                ("pipeline", "processing", "engine"),
                "'emr_serverless' reads the raw lake from S3, but pipeline.sink.type 'local' keeps it on the "
                "ingestion machine's disk; use sink type 's3' (or 'kinesis'/'kafka' delivering to S3)",
                "emr_serverless",
            )
        if emr is None or self.pipeline.sink.type == "local":
            return self
        field = ("pipeline", "processing", "emr_serverless", "raw_uri")
        if self.pipeline.sink.type == "s3":
            written = self.raw_uri
            if emr.raw_uri is not None and emr.raw_uri != written:
                raise _field_error(
                    field,
                    "differs from where the S3 sink writes (pipeline.sink.s3.bucket and pipeline.sink.prefix: {written}); "
                    "leave it out to use that location",
                    emr.raw_uri,
                    written=written,
                )
        elif emr.raw_uri is None:
            raise _field_error(
                field,
                "required with pipeline.sink.type '{sink}': the s3:// location its files are delivered to",
                None,
                error_type="missing",
                sink=self.pipeline.sink.type,
            )
        return self

    @model_validator(mode="after")
    def _sources_of_declared_apps(self) -> ProjectConfig:
        sink = self.pipeline.sink.type
        if self.pipeline.sources and sink not in SOURCE_SINKS:
            raise _field_error(
                ("pipeline", "sources"),
                "sources land their files where the sink writes, which must be one of {kinds}; pipeline.sink.type is '{sink}'",
                [source.name for source in self.pipeline.sources],
                kinds=", ".join(SOURCE_SINKS),
                sink=sink,
            )
        for index, source in enumerate(self.pipeline.sources):
            if source.app_id not in self.app_ids:
                raise _field_error(
                    ("pipeline", "sources", index, "app_id"),
                    "source '{source}' belongs to app '{app_id}', which is not declared in apps (declared: {declared})",
                    source.app_id,
                    error_type="unknown_app",
                    source=source.name,
                    app_id=source.app_id,
                    declared=", ".join(self.app_ids) or "none",
                )
        return self

    @field_validator("apps")
    @classmethod
    def _unique_app_ids(cls, apps: list[App]) -> list[App]:
        seen: set[str] = set()
        for app in apps:
            # Schemas are case-insensitive in most warehouses, so "Shop" and "shop" collide.
            key = app.app_id.lower()
            if key in seen:
                raise ValueError(f"duplicate app_id {app.app_id!r} (app ids are case-insensitive)")
            seen.add(key)
        return apps

    # Paths ---------------------------------------------------------------------------------

    def resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        if not candidate.is_absolute():
            candidate = self.data_root / candidate
        return candidate

    @property
    def data_root(self) -> Path:
        root = Path(self.data_dir).expanduser()
        return root if root.is_absolute() else (self.base_dir / root)

    @property
    def lake_root(self) -> Path:
        return self.resolve(self.pipeline.sink.path)

    @property
    def raw_prefix(self) -> str:
        return render_prefix(self.pipeline.sink.prefix, self.project_id)

    @property
    def raw_root(self) -> Path:
        """Where local processing finds ``year=/month=/day=/hour=/``. Kafka-fed lakes have one
        more level: the S3 sink connector puts the topic below the prefix (deploy/sinks/README.md)."""
        sink = self.pipeline.sink
        topic = (sink.kafka.topic or self.project_id) if sink.type == "kafka" and sink.kafka is not None else None
        return self.lake_root / raw_files_prefix(self.raw_prefix, topic)

    @property
    def raw_uri(self) -> str | None:
        """The raw lake in S3, as the sensor lists it and the job on EMR Serverless reads it: where
        the S3 sink writes, else ``emr_serverless.raw_uri`` (where Firehose or Kafka Connect
        deliver). No trailing slash; None for a lake that is only local."""
        sink = self.pipeline.sink
        if sink.type == "s3" and sink.s3 is not None:
            return f"s3://{sink.s3.bucket}/{self.raw_prefix}".rstrip("/")
        emr = self.pipeline.processing.emr_serverless
        return emr.raw_uri if emr is not None and sink.type != "local" else None

    @property
    def raw_lake(self) -> str:
        """The one raw lake that the sensor lists and the job reads, whatever engine runs the job:
        ``raw_uri`` when the lake is in S3, else the local ``raw_root``."""
        return self.raw_uri or str(self.raw_root)

    def source(self, name: str) -> Source:
        for source in self.pipeline.sources:
            if source.name == name:
                return source
        raise KeyError(f"unknown source {name!r}; configured sources: {', '.join(s.name for s in self.pipeline.sources) or 'none'}")

    def source_raw_prefix(self, name: str) -> str:
        """The key prefix of a source's hour directories (in the sink's bucket, or below
        ``lake_root``): ``<prefix>sources/<name>/``."""
        return source_files_prefix(self.raw_prefix, name)

    def source_raw_lake(self, name: str) -> str:
        """The root of a source's hour directories as processing reads them: ``s3://bucket/...``
        with the S3 sink, else the local directory (sources land only there: ingestion/sources)."""
        sink = self.pipeline.sink
        prefix = self.source_raw_prefix(name)
        if sink.type == "s3" and sink.s3 is not None:
            return f"s3://{sink.s3.bucket}/{prefix}".rstrip("/")
        return str(self.lake_root / prefix).rstrip("/")

    def sources_of_app(self, app_id: str) -> list[Source]:
        return [source for source in self.pipeline.sources if source.app_id == app_id]

    def source_state_dir(self, name: str) -> Path:
        """Where a source keeps its per-shard checkpoint and its staging files (local disk)."""
        return self.data_root / "sources" / name

    @property
    def ods_root(self) -> Path:
        return self.resolve(self.pipeline.processing.ods_path)

    @property
    def spool_root(self) -> Path:
        return self.resolve(self.pipeline.ingestion.spool_dir)

    @property
    def duckdb_path(self) -> Path:
        return self.resolve(self.pipeline.modeling.duckdb_path)

    @property
    def dagster_home(self) -> Path:
        return self.data_root / "dagster"

    @property
    def console_root(self) -> Path:
        return self.data_root / "console"

    @property
    def console_database_url(self) -> str:
        return self.console.database_url or f"sqlite:///{self.console_root / 'console.db'}"

    # Apps ----------------------------------------------------------------------------------

    @property
    def app_ids(self) -> list[str]:
        return [app.app_id for app in self.apps]

    def app(self, app_id: str) -> App:
        for app in self.apps:
            if app.app_id == app_id:
                return app
        raise KeyError(f"unknown app_id {app_id!r}; registered apps: {', '.join(self.app_ids) or 'none'}")

    def with_app(self, app: App) -> ProjectConfig:
        taken = next((existing for existing in self.app_ids if existing.lower() == app.app_id.lower()), None)
        if taken is not None:
            same = "" if taken == app.app_id else f" as {taken!r} (app ids are case-insensitive)"
            raise ConfigError(f"app_id {app.app_id!r} is already registered in project {self.project_id!r}{same}")
        return self.model_copy(update={"apps": [*self.apps, app]})


def _field_error(
    loc: tuple[str | int, ...], message: str, value: object, *, error_type: str = "field_conflict", **context: object
) -> ValidationError:
    """An error about one field found by a check of the whole model, reported under that
    field's name like the field's own errors (pydantic passes a ValidationError through)."""
    detail = InitErrorDetails(type=PydanticCustomError(error_type, message, context), loc=loc, input=value)
    return ValidationError.from_exception_data(ProjectConfig.__name__, [detail])


def _format_errors(source: str, error: ValidationError) -> str:
    return "\n".join([f"invalid configuration in {source}:", *(f"  - {line}" for line in field_errors(error))])


def field_errors(error: ValidationError, name: Callable[[tuple[int | str, ...]], str] | None = None) -> list[str]:
    """One line per problem, `<field>: <message> (got <value>)`; `name` turns a field's location
    into what the reader knows it by (default: its dotted path, `pipeline.ingestion.workers`)."""
    lines = []
    for item in error.errors():
        field = name(item["loc"]) if name else ".".join(str(part) for part in item["loc"]) or "(top level)"
        got = item.get("input")
        suffix = "" if item["type"] in {"missing", "extra_forbidden"} or isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{field}: {error_message(item)}{suffix}")
    return lines


def error_message(item: ErrorDetails) -> str:
    """What is wrong with one field, without the value (a form shows that in the field itself)."""
    if item["type"] == "string_pattern_mismatch":
        return f"must match {item['ctx']['pattern']}"
    if item["type"] == "extra_forbidden":
        return "unknown field (check the spelling)"
    return item["msg"]


def parse_config(data: object, *, base_dir: Path | None = None, source: str = "<config>") -> ProjectConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"invalid configuration in {source}: expected a mapping at the top level, got {type(data).__name__}")
    if "base_dir" in data:
        raise ConfigError(f"invalid configuration in {source}:\n  - base_dir: unknown field (check the spelling)")
    try:
        return ProjectConfig.model_validate({**data, "base_dir": (base_dir or Path.cwd()).resolve()})
    except ValidationError as error:
        raise ConfigError(_format_errors(source, error)) from None


def new_app(**fields: object) -> App:
    """An App from command-line values, with the same field-naming errors as a config file."""
    try:
        return App.model_validate(fields)
    except ValidationError as error:
        raise ConfigError(_format_errors("the app arguments", error)) from None


def load_config(path: str | os.PathLike[str]) -> ProjectConfig:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {file}") from None
    except IsADirectoryError:
        raise ConfigError(f"{file} is a directory, not a configuration file") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{file} is not UTF-8 text (byte {error.start}: {error.object[error.start : error.start + 1]!r})") from None
    except OSError as error:
        raise ConfigError(f"cannot read {file}: {error.strerror or error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{file} is not valid YAML: {error}") from None
    return parse_config(data, base_dir=file.resolve().parent, source=str(file))


def default_config_path() -> Path:
    """The file named by $CLICKSTREAM_CONFIG, else ./clickstream.yaml."""
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_NAME)


def dump_config(config: ProjectConfig) -> str:
    data = config.model_dump(mode="json", exclude={"base_dir"}, exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def save_config(config: ProjectConfig, path: str | os.PathLike[str]) -> None:
    file = Path(path)
    tmp = file.with_name(f".{file.name}.tmp")
    tmp.write_text(dump_config(config), encoding="utf-8")
    os.replace(tmp, file)
