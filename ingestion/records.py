"""The raw record: what the ingestion service stores for one accepted request (DATA_CONTRACT §3),
and the JSON line it is stored as."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

SOURCE_TYPE = "http_server"
# Records a configured source read from a Kinesis stream of Amazon Cognito Streams (ingestion/sources/).
COGNITO_STREAMS_SOURCE_TYPE = "cognito_streams"


def build_raw_record(
    *,
    data: str,
    compression: str | None,
    ip: str | None,
    ua: str | None,
    method: str,
    path: str,
    query_string: str,
    args: Mapping[str, str],
    rid: str,
    arrival_ms: int,
    source_type: str = SOURCE_TYPE,
) -> dict[str, Any]:
    """The record for one request (or, for a configured source, one record it read: its
    ``source_type`` says which); absent query values stay None (JSON null)."""
    arrival = datetime.fromtimestamp(arrival_ms / 1000, tz=UTC)
    return {
        # Server time with its offset, like nginx's $time_iso8601 in the upstream solution.
        "date": arrival.astimezone().isoformat(timespec="seconds"),
        "data": data,
        "ip": ip,
        "ua": ua,
        "uri": f"{path}?{query_string}" if query_string else path,
        "rid": rid,
        "method": method,
        "path": path,
        "source_type": source_type,
        "appId": args.get("appId"),
        "platform": args.get("platform"),
        "compression": compression,
        "ingest_time": arrival_ms,
        "server_ingest_time": arrival_ms,
        "client_timestamp": args.get("upload_timestamp"),
        "timestamp": arrival.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def encode_record(record: Mapping[str, Any]) -> bytes:
    """One newline-terminated JSON line, UTF-8, compact."""
    try:
        # Every accepted request is encoded once on the hot path; orjson is several times faster.
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        # orjson refuses a lone surrogate (it cannot be UTF-8; JavaScript strings can hold one):
        # escaped JSON keeps the line valid and lossless.
        return json.dumps(record, separators=(",", ":")).encode("ascii") + b"\n"
