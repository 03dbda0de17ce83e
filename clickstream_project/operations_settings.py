"""Settings of the operations side of a project: what runs automatically (sensors, schedules),
which health checks watch the pipeline, and where alarms go.

Kept apart from ``config.py`` (which owns the data path: apps, ingestion, sink, processing,
modeling); ``PipelineSettings`` embeds these models, so they are validated with the rest of the
file and errors name the field the same way (``pipeline.alerts.webhook.url: ...``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    # Same rule as config.py: an unknown key is almost always a typo.
    model_config = ConfigDict(extra="forbid", frozen=True)


# (lowest, highest) of each cron field; month and weekday also take names.
_CRON_FIELDS = [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7)]
_CRON_NAMES = {
    3: {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)},
    4: {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
}
_CRON_ITEM = re.compile(r"^(\*|(?P<low>\w+)(-(?P<high>\w+))?)(/(?P<step>\d+))?$")


def valid_cron(value: str) -> str:
    """A standard 5-field cron expression (numbers, ranges, lists, steps, month/day names).
    Checked here rather than with Dagster's parser: the ingestion service reads this file too
    and should not import Dagster to do so."""
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(f"not a valid cron expression: {len(fields)} fields, expected 5 (like '0 2 * * *')")
    for index, (field, (name, lowest, highest)) in enumerate(zip(fields, _CRON_FIELDS)):
        names = _CRON_NAMES.get(index, {})
        for item in field.split(","):
            match = _CRON_ITEM.match(item.lower())
            if not match:
                raise ValueError(f"not a valid cron expression: {name} {item!r}")
            for part in (match["low"], match["high"]):
                if part is None:
                    continue
                number = names.get(part) if part in names else (int(part) if part.isdigit() else None)
                if number is None or not lowest <= number <= highest:
                    raise ValueError(f"not a valid cron expression: {name} {part!r} is outside {lowest}-{highest}")
            if match["step"] is not None and int(match["step"]) == 0:
                raise ValueError(f"not a valid cron expression: {name} step 0")
    return value


# Alerts -------------------------------------------------------------------------------------


class WebhookChannel(_Strict):
    """An HTTP POST of the alert as JSON (Slack/Teams incoming webhooks, PagerDuty, a chat bot)."""

    enabled: bool = True
    url: str = Field(pattern=r"^https?://[^\s]+$")
    # Static headers; secrets (a bearer token) come from the environment variable named here.
    headers: dict[str, str] = Field(default_factory=dict)
    headers_from_env: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=10, gt=0, le=120)


class EmailChannel(_Strict):
    """An email through an SMTP relay (SES SMTP, a company relay, a local MTA)."""

    enabled: bool = True
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    # starttls on 587, ssl (implicit TLS) on 465, none only for a relay on localhost.
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    # The password is never in the file: the name of the environment variable that holds it.
    password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    recipients: list[str] = Field(min_length=1)
    subject_prefix: str = "[clickstream]"
    timeout_seconds: float = Field(default=10, gt=0, le=120)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, recipients: list[str]) -> list[str]:
        for address in recipients:
            if "@" not in address or any(c.isspace() for c in address):
                raise ValueError(f"{address!r} is not an email address")
        return recipients

    @model_validator(mode="after")
    def _credentials_together(self) -> EmailChannel:
        if (self.username is None) != (self.password_env is None):
            raise ValueError("set both username and password_env, or neither")
        return self


class SnsChannel(_Strict):
    """A message to an SNS topic (which fans out to email, SMS, chat or an incident tool)."""

    enabled: bool = True
    topic_arn: str = Field(pattern=r"^arn:aws[a-z\-]*:sns:[a-z0-9\-]+:\d{12}:[A-Za-z0-9_\-]{1,256}(\.fifo)?$")
    region: str | None = None
    # For tests (moto) and VPC endpoints; credentials come from the usual AWS chain.
    endpoint_url: str | None = None


class Alarms(_Strict):
    """Which conditions raise an alarm; a disabled alarm is still visible in the Dagster UI."""

    # A run failed (processing, dbt build, health checks).
    run_failure: bool = True
    # raw_events, ods_events or a session view has not been updated within its threshold.
    freshness: bool = True
    # A processed batch sent an abnormal share of its events to the quarantine.
    quarantine_rate: bool = True
    # The ingestion spool holds more than the threshold (the sink is not keeping up or is down).
    spool_depth: bool = True
    # A dbt test (unique, not_null, ...) failed on a model.
    data_tests: bool = True


class AlertSettings(_Strict):
    # Every alert is written to the Dagster log (and the daemon's stdout) unless turned off.
    log: bool = True
    webhook: WebhookChannel | None = None
    email: EmailChannel | None = None
    sns: SnsChannel | None = None
    alarms: Alarms = Field(default_factory=Alarms)
    # How often the alert sensor looks for failed checks and runs.
    minimum_interval_seconds: int = Field(default=30, ge=5, le=3600)


# Automation ---------------------------------------------------------------------------------


class MicroBatchSettings(_Strict):
    """Sensor-driven processing: every sealed raw file gets its hour processed within about
    ``minimum_interval_seconds`` plus the Spark run (the goal is minutes from acknowledgement
    to the session view)."""

    enabled: bool = True
    # 30 s keeps a tick cheap (it lists 72 hour directories) while adding at most 30 s of delay.
    minimum_interval_seconds: int = Field(default=30, ge=5, le=3600)
    # A single changed hour is processed and modeled in one run (micro_batch), which saves a run
    # start and a tick of the warehouse sensor. Off: processing runs only, the warehouse sensor
    # builds after them (runs of different hours then never wait for a dbt build).
    model_in_same_run: bool = True


class ProcessingSchedule(_Strict):
    """The product's "data processing interval" for users who prefer batches: at every tick of
    ``pipeline.processing.interval_minutes``/``cron`` the hours that received files since the
    previous tick are processed in one run."""

    enabled: bool = False


class DbtSchedule(_Strict):
    enabled: bool = False
    cron: str
    # A dbt selection (node selection syntax) applied to every app's models.
    select: str = Field(min_length=1)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return valid_cron(value)


class DimUsersSchedule(DbtSchedule):
    # The product refreshes its user dimension daily; 02:00 UTC is after most apps' midnight peak.
    cron: str = "0 2 * * *"
    select: str = Field(default="dim_users", min_length=1)


class DataCleanupSchedule(DbtSchedule):
    # Every dbt build ends with the hook that deletes rows older than
    # pipeline.modeling.data_range_days (dbt_project/macros/delete_expired_data.sql); this
    # schedule runs a small build daily so the cleanup happens even when no new data arrives.
    cron: str = "0 3 * * *"
    select: str = Field(default="ods_events", min_length=1)


class AutomationSettings(_Strict):
    micro_batch: MicroBatchSettings = Field(default_factory=MicroBatchSettings)
    processing_schedule: ProcessingSchedule = Field(default_factory=ProcessingSchedule)
    dim_users: DimUsersSchedule = Field(default_factory=DimUsersSchedule)
    data_cleanup: DataCleanupSchedule = Field(default_factory=DataCleanupSchedule)


# Health checks ------------------------------------------------------------------------------


class HealthSettings(_Strict):
    """Thresholds of the freshness and health checks (asset checks in the Dagster UI)."""

    # With micro-batches a raw hour is registered within minutes of its files; two hours without
    # any means ingestion, the sink or the sensor stopped (or the apps send nothing at night).
    raw_events_max_lag_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    ods_events_max_lag_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    session_view_max_lag_minutes: int = Field(default=180, ge=1, le=7 * 24 * 60)
    # Freshness checks are evaluated by a sensor this often.
    freshness_interval_seconds: int = Field(default=300, ge=30, le=24 * 3600)
    # A batch quarantining more than this share of its events fails the check. The SDKs'
    # own data quarantines well under 1%; 5% means a broken client release or a bad plugin.
    quarantine_max_ratio: float = Field(default=0.05, ge=0, le=1)
    # Below this many events a ratio says little (one bad request in a quiet minute).
    quarantine_min_events: int = Field(default=100, ge=0)
    # Ingestion /metrics endpoints (one per instance behind the load balancer); empty: derived
    # from pipeline.ingestion.bind when its metrics are on.
    ingestion_metrics_urls: list[str] = Field(default_factory=list)
    # The spool check fails above this; the service itself refuses at ingestion.spool_max_mib.
    spool_max_mib: float = Field(default=256, gt=0)
    # How often the spool depth is read (a cron, evaluated by the health-checks schedule).
    spool_check_cron: str = "*/5 * * * *"

    @field_validator("spool_check_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return valid_cron(value)

    @field_validator("ingestion_metrics_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} must be an http(s) URL of an ingestion /metrics endpoint")
        return urls
