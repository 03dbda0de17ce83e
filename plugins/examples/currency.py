"""Example enrichment with a dependency file: ``event_value_in_usd`` from ``_value``/``_currency``.

The rates file is a small CSV the user ships with the pipeline (``files:``), one rate per
currency, as US dollars per one unit::

    currency,usd_rate
    USD,1
    EUR,1.08
    JPY,0.0067

It is read once, in the constructor, so a missing or malformed file fails when the job loads its
plugins, before any data is read. ``transform`` stays a pure Spark transform: the rates become a
tiny DataFrame on the input frame's own session and are joined in.
"""

from __future__ import annotations

import csv
import math
import re

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from plugins.base import Enrichment
from plugins.examples import dependency_file

RATES_SCHEMA = T.StructType([T.StructField("_rate_currency", T.StringType(), False), T.StructField("_usd_rate", T.DoubleType(), False)])
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")  # ISO 4217 alphabetic codes


def _param(params: Column, key: str) -> Column:
    """The value struct of the first ``event_params`` entry named ``key`` (null if absent;
    ``get`` rather than ``[0]``, which fails on an empty array under ANSI mode)."""
    return F.get(F.filter(params, lambda entry: entry["key"] == F.lit(key)), 0)["value"]


class UsdValueEnrichment(Enrichment):
    """Fills ``event_value_in_usd`` = ``_value`` × the rate of ``_currency``.

    ``_value`` must be a JSON number (``int_value`` or ``double_value``); ``_currency`` an ISO
    code, compared case-insensitively. No value, no currency or a currency missing from the file
    leaves the column null: a guessed conversion would be worse than none. A value already set
    (by an earlier plugin) is kept. Every other column passes through unchanged, in order.
    """

    def __init__(self, rates: str) -> None:
        self.rates_path = str(dependency_file(rates, plugin=type(self).__name__, option="rates"))
        self.rates = _read_rates(self.rates_path)

    def transform(self, df: DataFrame) -> DataFrame:
        rates = F.broadcast(df.sparkSession.createDataFrame(sorted(self.rates.items()), RATES_SCHEMA))
        params = F.col("event_params")
        value = F.coalesce(_param(params, "_value")["double_value"], _param(params, "_value")["int_value"].cast("double"))
        currency = F.upper(F.trim(_param(params, "_currency")["string_value"]))
        keyed = df.withColumn("_value_currency", currency)
        joined = keyed.join(rates, on=F.col("_value_currency") == F.col("_rate_currency"), how="left")
        in_usd = F.coalesce(F.col("event_value_in_usd"), value * F.col("_usd_rate")).cast("double")
        return joined.select(*[in_usd.alias(c) if c == "event_value_in_usd" else F.col(c) for c in df.columns])


def _read_rates(path: str) -> dict[str, float]:
    where = f"UsdValueEnrichment: rates file {path!r}"
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames is None or not {"currency", "usd_rate"} <= set(reader.fieldnames):
            raise ValueError(f"{where}: expected a header line 'currency,usd_rate', got {reader.fieldnames!r}")
        rates: dict[str, float] = {}
        for row in reader:
            line = reader.line_num
            code = (row["currency"] or "").strip().upper()
            if not _CURRENCY_CODE.match(code):
                raise ValueError(f"{where}, line {line}: {row['currency']!r} is not a three-letter currency code")
            try:
                rate = float(row["usd_rate"])
            except (TypeError, ValueError):
                raise ValueError(f"{where}, line {line}: usd_rate {row['usd_rate']!r} is not a number") from None
            if not (math.isfinite(rate) and rate > 0):
                raise ValueError(f"{where}, line {line}: usd_rate must be a positive number, got {rate}")
            # A second rate for one currency would duplicate events in the join.
            if code in rates:
                raise ValueError(f"{where}, line {line}: {code} is listed twice")
            rates[code] = rate
    if not rates:
        raise ValueError(f"{where}: no rates")
    return rates
