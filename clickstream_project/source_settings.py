"""``pipeline.sources``: data the platform reads itself rather than receives from the SDKs.

One kind today: a Kinesis stream that Amazon Cognito Streams publishes an identity pool's dataset
syncs to (ingestion/sources/cognito_kinesis.py reads it). Each source belongs to one declared app
(Cognito records carry no app id) and writes its raw files below ``<prefix>sources/<name>/``
(clickstream_contract/raw_lake.py), apart from the SDK files.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from clickstream_contract.job_defaults import COGNITO_TRANSFORMER
from clickstream_contract.raw_lake import SOURCE_NAME_PATTERN

# Cognito limits a dataset to 1 MB, so a sync behind kinesisSyncRecordsURL is at most about
# that plus JSON quoting; the cap only stops a wrong URL from filling memory.
DEFAULT_PAYLOAD_MAX_MIB = 16
DEFAULT_SOURCE_FRESHNESS_HOURS = 10 * 365 * 24


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PayloadFetchSettings(_Strict):
    """How ``payloadType: S3Url`` records are completed from their presigned URL."""

    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Attempts in all (1 = no retry); the waits between them double from backoff_seconds.
    max_attempts: int = Field(default=3, ge=1, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0, le=30)
    max_mib: int = Field(default=DEFAULT_PAYLOAD_MAX_MIB, ge=1, le=256)


class CognitoStreamsSource(_Strict):
    type: Literal["cognito_streams"] = "cognito_streams"
    # Names the source's directory in the lake and its checkpoint: lowercase, one path segment.
    name: str = Field(pattern=SOURCE_NAME_PATTERN)
    # The declared app whose data this is (checked against `apps` by ProjectConfig).
    app_id: str
    stream_name: str = Field(pattern=r"^[a-zA-Z0-9_.\-]{1,128}$")
    region: str | None = None
    # For Kinesis-compatible endpoints and tests (moto); credentials come from the usual AWS chain.
    endpoint_url: str | None = None
    # Where a shard without a checkpoint starts: every retained record, or only new ones.
    # Shards born from a resharding always start at their beginning.
    initial_position: Literal["trim_horizon", "latest"] = "trim_horizon"
    # GetRecords' Limit; every non-empty batch becomes one raw file, then a checkpoint.
    batch_size: int = Field(default=1_000, ge=1, le=10_000)
    # How long one run (a Dagster run, `clickstream cognito-source --once`) reads before it
    # stops at a checkpoint; and the wait between reads of a shard that is caught up (Kinesis
    # allows 5 GetRecords per shard and second).
    max_seconds_per_run: float = Field(default=50.0, gt=0, le=3_600)
    poll_interval_seconds: float = Field(default=1.0, ge=0.2, le=60)
    payload_fetch: PayloadFetchSettings = Field(default_factory=PayloadFetchSettings)
    # The processing job's transformer for this source's records (a dotted class name taking
    # project_id and app_id, plugins/base.py); the default maps Cognito Sync records.
    transformer: str = Field(default=COGNITO_TRANSFORMER, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
    # How old a change may be when it arrives before processing quarantines it as stale. A
    # bulk publish replays an identity pool's whole history (Cognito keeps datasets for ever),
    # and the current-state model needs all of it: ten years, not the SDK events' 72 hours.
    event_freshness_hours: int = Field(default=DEFAULT_SOURCE_FRESHNESS_HOURS, ge=1, le=DEFAULT_SOURCE_FRESHNESS_HOURS)


Source = CognitoStreamsSource
