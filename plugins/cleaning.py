"""Cleaning: raw request records → one row per well-formed element, and the quarantine.

The rules live in plugins/elements.py and run in the job's Python pass (plugins/passes.py). This
module gives that pass the DataFrame shape DataFrame transformers receive: ``clean(raw, ...)``
returns the good elements (``event`` as a VARIANT, plus the request's columns) and the
quarantine (``ingest_hour, reason, rid, app_id, raw``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from plugins.base import Transformer
from plugins.elements import (
    CORRUPT_FILE,
    EVENT_REASONS,
    FUTURE_EVENT,
    MISSING_FIELD,
    NOT_AN_ARRAY,
    REASONS,
    STALE_EVENT,
    UNDECODABLE,
    UNKNOWN_APP,
    Freshness,
    Rules,
)
from plugins.ods_schema import CONTEXT_COLUMNS, ODS_COLUMNS
from plugins.passes import EVENT, QUARANTINE, element_pass

__all__ = [
    "CORRUPT_FILE",
    "EVENT_REASONS",
    "FUTURE_EVENT",
    "MISSING_FIELD",
    "NOT_AN_ARRAY",
    "QUARANTINE_COLUMNS",
    "REASONS",
    "STALE_EVENT",
    "UNDECODABLE",
    "UNKNOWN_APP",
    "Cleaned",
    "Freshness",
    "clean",
    "cleaned_events",
    "file_quarantine_rows",
    "mapped_events",
    "quarantine_rows",
]  # fmt: skip

QUARANTINE_COLUMNS = ["ingest_hour", "reason", "rid", "app_id", "raw"]
CLEANED_COLUMNS = ["ingest_hour", "ingest_time", "uri", "_rid", "_ip", "_ua", "method", "event"]


@dataclass(frozen=True)
class Cleaned:
    events: DataFrame
    quarantine: DataFrame


def cleaned_events(rows: DataFrame) -> DataFrame:
    """The good elements of a pass without a mapping transformer, ``event`` parsed to a VARIANT."""
    return rows.where(F.col("_kind") == EVENT).select(
        *[F.parse_json("event").alias("event") if name == "event" else F.col(name) for name in CLEANED_COLUMNS]
    )


def mapped_events(rows: DataFrame) -> DataFrame:
    """The good elements of a pass with an element transformer: ``ods_events`` + context columns."""
    return rows.where(F.col("_kind") == EVENT).select(*ODS_COLUMNS, *CONTEXT_COLUMNS)


def quarantine_rows(rows: DataFrame) -> DataFrame:
    return rows.where(F.col("_kind") == QUARANTINE).select("ingest_hour", "reason", F.col("_rid").alias("rid"), "app_id", "raw")


def file_quarantine_rows(spark: SparkSession, problems: dict[str, tuple[str, str, str]]) -> DataFrame:
    """One quarantine row per raw file that is not whole gzip (path → (arrival hour, problem,
    detail)): ``raw`` names the file and what is wrong with it, as JSON; no request nor app."""
    rows = [
        (hour, CORRUPT_FILE, None, None, json.dumps({"path": path, "problem": problem, "detail": detail}))
        for path, (hour, problem, detail) in sorted(problems.items())
    ]
    return spark.createDataFrame(rows, T.StructType([T.StructField(name, T.StringType()) for name in QUARANTINE_COLUMNS]))


def clean(
    raw: DataFrame,
    app_ids: list[str],
    freshness: Freshness = Freshness(),  # noqa: B008 (frozen, so one shared default is safe)
    transformer: Transformer | type[Transformer] = Transformer,
) -> Cleaned:
    """``transformer`` says what an element must hold (its ``required_fields``, ``app_id_path``,
    ``timestamp_path``); the default is the SDK format."""
    rows = element_pass(raw, Rules.of(transformer, app_ids, freshness))
    return Cleaned(events=cleaned_events(rows), quarantine=quarantine_rows(rows))
