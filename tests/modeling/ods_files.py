"""Hand-made ``ods_events`` Parquet in the processing job's layout, for the modeling tests.

The Arrow schema is derived from ``plugins.ods_schema`` (the contract's Spark schema), so the
fixtures cannot drift from what the Spark job writes. Files go to
``<ods_root>/ods_events/partition_app=<app>/partition_year=YYYY/partition_month=MM/
partition_day=DD/h<arrival hour>-fixture.parquet``, one per (event day, arrival hour).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql.pandas.types import to_arrow_schema

from plugins.ods_schema import ODS_EVENTS_SCHEMA

ODS_ARROW_SCHEMA: pa.Schema = to_arrow_schema(ODS_EVENTS_SCHEMA)
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def typed(value: Any) -> dict[str, Any]:
    """The contract's typed value struct for a Python value (int → int_value, ...)."""
    if isinstance(value, bool) or isinstance(value, str):
        return {
            "double_value": None,
            "float_value": None,
            "int_value": None,
            "string_value": str(value).lower() if isinstance(value, bool) else value,
        }
    if isinstance(value, int):
        return {"double_value": None, "float_value": None, "int_value": value, "string_value": None}
    return {"double_value": float(value), "float_value": None, "int_value": None, "string_value": None}


def ods_event(
    event_id: str,
    user: str,
    ts: int,
    name: str,
    *,
    app_id: str,
    ingest: int | None = None,
    session: str | None = None,
    session_start: int | None = None,
    duration: int | None = None,
    params: dict[str, Any] | None = None,
    user_id: str | None = None,
    user_properties: dict[str, Any] | None = None,
    platform: str = "Web",
    device: dict[str, Any] | None = None,
    geo: dict[str, Any] | None = None,
    traffic_source: dict[str, Any] | None = None,
    first_touch: int | None = None,
    dimensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One ods_events row; unspecified columns are null. ``ingest`` defaults to one minute
    after the event. Session attributes become the _session_* event params; ``dimensions``
    (sdk_name, sdk_version) become event_dimensions."""
    attributes: dict[str, Any] = {}
    if session is not None:
        attributes["_session_id"] = session
        attributes["_session_start_timestamp"] = session_start if session_start is not None else ts
        attributes["_session_duration"] = duration if duration is not None else 0
    attributes.update(params or {})
    ingest = ingest if ingest is not None else ts + 60_000
    return {
        "app_info": {"app_id": app_id, "id": None, "install_source": None, "version": "1.0.0"},
        "device": {"vendor_id": f"device-{user}", "operating_system": platform, **(device or {})},
        "ecommerce": None,
        "event_bundle_sequence_id": 0,
        "event_date": utc(ts).date(),
        "event_dimensions": [{"key": key, "value": typed(value)} for key, value in (dimensions or {}).items()],
        "event_id": event_id,
        "event_name": name,
        "event_params": [{"key": key, "value": typed(value)} for key, value in attributes.items()],
        "event_previous_timestamp": None,
        "event_server_timestamp_offset": ingest - ts,
        "event_timestamp": ts,
        "event_value_in_usd": None,
        "geo": geo,
        "ingest_timestamp": ingest,
        "items": [],
        "platform": platform,
        "privacy_info": [],
        "project_id": "proj",
        "traffic_source": traffic_source,
        "user_first_touch_timestamp": first_touch,
        "user_id": user_id,
        "user_ltv": None,
        "user_properties": [
            {"key": key, "value": {**typed(value), "set_timestamp_micros": ts * 1000}} for key, value in (user_properties or {}).items()
        ],
        "user_pseudo_id": user,
    }


def write_ods_events(ods_root: Path, app_id: str, events: list[dict[str, Any]]) -> list[Path]:
    """Write events as the Spark job would: partitioned by event day, one file per arrival hour
    (an existing file of the same day and hour is replaced, like a re-run hour)."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in events:
        groups[(row["event_date"], utc(row["ingest_timestamp"]).strftime("%Y%m%d%H"))].append(row)
    written = []
    for (day, hour), rows in sorted(groups.items()):
        directory = (
            ods_root
            / "ods_events"
            / f"partition_app={app_id}"
            / f"partition_year={day:%Y}"
            / f"partition_month={day:%m}"
            / f"partition_day={day:%d}"
        )
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"h{hour}-fixture.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=ODS_ARROW_SCHEMA), path)
        written.append(path)
    return written
