import base64
import gzip
import json
from pathlib import Path

import pytest

from clickstream_contract.raw_lake import hour_path, parse_hour_tag
from plugins.raw import RAW_SCHEMA

INGEST_MS = 1_700_000_000_000


def raw_record(
    data: str,
    *,
    app_id: str = "shop_android",
    compression: str | None = None,
    rid: str = "r1",
    ingest_time: int = INGEST_MS,
    uri: str | None = None,
    ip: str = "203.0.113.9",
    ua: str = "Mozilla/5.0",
) -> dict:
    return {
        "date": "2023-11-14T22:13:20+00:00",
        "data": data,
        "ip": ip,
        "ua": ua,
        "uri": uri if uri is not None else f"/collect?appId={app_id}&event_bundle_sequence_id=7",
        "rid": rid,
        "method": "POST",
        "m": None,
        "path": "/collect",
        "source_type": "http_server",
        "appId": app_id,
        "platform": "Android",
        "compression": compression,
        "ingest_time": ingest_time,
        "server_ingest_time": ingest_time,
        "client_timestamp": None,
        "timestamp": "2023-11-14T22:13:20Z",
    }


def gzip_body(events: list[dict]) -> str:
    return base64.b64encode(gzip.compress(json.dumps(events).encode())).decode()


@pytest.fixture
def raw_frame(spark):
    """Raw records (plus the arrival hour the reader adds) as a DataFrame."""
    from pyspark.sql import functions as F

    def build(records: list[dict], hour: str = "2023111422"):
        return spark.createDataFrame(records, RAW_SCHEMA).withColumn("ingest_hour", F.lit(hour))

    return build


def event(
    event_id: str = "e1",
    *,
    app_id: str = "shop_android",
    timestamp: int = INGEST_MS - 60_000,
    name: str = "_screen_view",
    attributes: dict | None = None,
    user: dict | None = None,
    **extra,
) -> dict:
    return {
        "event_type": name,
        "event_id": event_id,
        "app_id": app_id,
        "unique_id": "u1",
        "timestamp": timestamp,
        "platform": "Android",
        "attributes": attributes or {},
        "user": user or {},
        **extra,
    }


def write_raw_hour(lake: Path, hour: str, records: list[dict], name: str = "part.gz") -> Path:
    """hour like 2023111422 → lake/year=2023/month=11/day=14/hour=22/name"""
    directory = lake / hour_path(parse_hour_tag(hour))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    with gzip.open(path, "wt") as file:
        for record in records:
            file.write(json.dumps(record) + "\n")
    return path
