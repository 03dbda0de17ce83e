"""Reading raw records (DATA_CONTRACT §3).

A raw record holds one accepted request: ``data`` is the body exactly as received, either a
JSON array or the base64 text of its gzip bytes (``compression = gzip``). Archives written by the
AWS solution itself use ``m`` instead of ``method``; both are read (plugins/elements.py decodes).
"""

from __future__ import annotations

from collections.abc import Collection

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clickstream_contract.raw_lake import HOUR_PARTITION_KEYS
from plugins.raw_files import salvaged_lines

RAW_SCHEMA = T.StructType(
    [
        T.StructField("date", T.StringType()),
        T.StructField("data", T.StringType()),
        T.StructField("ip", T.StringType()),
        T.StructField("ua", T.StringType()),
        T.StructField("uri", T.StringType()),
        T.StructField("rid", T.StringType()),
        T.StructField("method", T.StringType()),
        T.StructField("m", T.StringType()),
        T.StructField("path", T.StringType()),
        T.StructField("source_type", T.StringType()),
        T.StructField("appId", T.StringType()),
        T.StructField("platform", T.StringType()),
        T.StructField("compression", T.StringType()),
        T.StructField("ingest_time", T.LongType()),
        T.StructField("server_ingest_time", T.LongType()),
        T.StructField("client_timestamp", T.StringType()),
        T.StructField("timestamp", T.StringType()),
    ]
)


def read_raw(spark: SparkSession, raw_root: str, paths: list[str], corrupt: Collection[str] = ()) -> DataFrame:
    """The records of the given raw files (or ``year=/month=/day=/hour=`` directories) as text
    lines (``value``), parsed later in the job's Python pass (plugins/passes.py); partition
    discovery adds the arrival-hour columns, which become the ``ingest_hour`` that output files
    are committed by. Files in ``corrupt`` are not whole gzip: their readable lines are salvaged
    (plugins/raw_files.py) instead of failing Spark's reader."""
    frames = []
    whole = [path for path in paths if path not in corrupt]
    if whole:
        frames.append(spark.read.option("basePath", raw_root).text(whole))
    if corrupt:
        frames.append(salvaged_lines(spark, raw_root, sorted(corrupt)))
    df = frames[0] if len(frames) == 1 else frames[0].unionByName(frames[1])
    # The hour tag (raw_lake.HOUR_TAG_FORMAT, 2026112113) of the columns partition discovery added.
    return df.withColumn("ingest_hour", F.format_string("%04d%02d%02d%02d", *(F.col(key).cast("int") for key in HOUR_PARTITION_KEYS))).drop(
        *HOUR_PARTITION_KEYS
    )
