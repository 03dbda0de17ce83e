"""Reading raw records (DATA_CONTRACT §3) and decoding their request bodies.

A raw record holds one accepted request: ``data`` is the body exactly as received, either a
JSON array or the base64 text of its gzip bytes (``compression = gzip``). Archives written by the
AWS solution itself use ``m`` instead of ``method``; both are read.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

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

# A decoded body larger than this is treated as undecodable: the SDKs cap a request at 512 KB
# of JSON, so 64 MiB can only be a gzip bomb or a corrupt stream.
MAX_DECODED_BYTES = 64 * 1024 * 1024


def read_raw(spark: SparkSession, raw_root: str, hour_dirs: list[str]) -> DataFrame:
    """Read the given ``year=/month=/day=/hour=`` directories; partition discovery adds the
    arrival-hour columns, which become the ``ingest_hour`` that output files are committed by."""
    df = (
        spark.read.schema(RAW_SCHEMA)
        .option("basePath", raw_root)
        .option("mode", "PERMISSIVE")
        .json(hour_dirs)
    )
    return df.withColumn(
        "ingest_hour",
        F.format_string(
            "%04d%02d%02d%02d",
            F.col("year").cast("int"),
            F.col("month").cast("int"),
            F.col("day").cast("int"),
            F.col("hour").cast("int"),
        ),
    ).drop("year", "month", "day", "hour")


def _decode_one(data: object, compression: object) -> str | None:
    if not isinstance(data, str):
        return None
    if compression != "gzip":
        return data
    try:
        compressed = base64.b64decode(data, validate=False)
        decompressor = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        raw = decompressor.decompress(compressed, MAX_DECODED_BYTES)
        if decompressor.unconsumed_tail:
            return None
        return raw.decode("utf-8")
    except (binascii.Error, ValueError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError):
        return None


@F.pandas_udf(T.StringType())
def decode_body(data: pd.Series, compression: pd.Series) -> pd.Series:
    """Base64-gzip bodies to JSON text; plain bodies unchanged; undecodable ones to null.
    Spark has no gzip function, so this is the one Python step, vectorised through Arrow."""
    return pd.Series([_decode_one(d, c) for d, c in zip(data, compression)], dtype=object)


def method_column() -> Column:
    return F.coalesce(F.col("method"), F.col("m"))
