"""IP enrichment: fills ``geo`` (all but ``locale``) from the client address in ``_ip``.

``_ip`` is the raw record's ``ip``: the ``X-Forwarded-For`` value (``client, proxy1, proxy2``)
when the request had one, else the peer address. Which entry is the client is decided by
``clickstream_contract.client_ip.recorded_client_ip`` with ``pipeline.ingestion.trusted_proxies``,
the rule ingestion's access log applies (DATA_CONTRACT §4), so the geo fields and the log name
the same client. Each distinct ``_ip`` is resolved and looked up once in a MaxMind-format City
database (GeoLite2-City, DB-IP Lite City) on the executors and the result is joined back,
instead of a per-row UDF.

Rules (plugins/ENRICHMENT.md): an ``_ip`` without a usable client address, and an address the
database does not know (private, reserved, unallocated), get null geo fields. continent,
country, region (first subdivision) and city are the English names; metro is the US metro code
as text where the database has one; sub_continent stays null, as neither GeoLite2 nor DB-IP Lite
has a sub-continent.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlparse

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clickstream_contract.client_ip import recorded_client_ip
from plugins.arrow_columns import distinct_mapped, with_struct_fields
from plugins.base import ElementEnrichment

if TYPE_CHECKING:
    import maxminddb
    import pandas as pd
    import pyarrow as pa

GEO_FIELDS = ["continent", "sub_continent", "country", "region", "city", "metro"]
# The lookup table: the recorded `_ip`, then each geo value under a "_" name so the join is unambiguous.
LOOKUP_SCHEMA = T.StructType([T.StructField(name, T.StringType()) for name in ["_ip", *[f"_{f}" for f in GEO_FIELDS]]])


def _shipped_with_job(file_name: str) -> bool:
    """Whether ``file_name`` is a dependency file of the running application (``--files`` /
    ``spark.files``), which Spark places in every executor's working files directory."""
    from pyspark import SparkContext, SparkFiles

    context = SparkContext._active_spark_context
    if context is None:
        return False
    shipped = context.getConf().get("spark.files", "") or ""
    if file_name in {Path(urlparse(uri).path).name for uri in shipped.split(",") if uri}:
        return True
    return Path(SparkFiles.get(file_name)).is_file()


def resolve_database(database: str) -> str:
    """The path as given when it exists here, else the copy Spark shipped to this process."""
    if Path(database).is_file():
        return database
    from pyspark import SparkFiles

    shipped = SparkFiles.get(Path(database).name)
    if Path(shipped).is_file():
        return shipped
    raise FileNotFoundError(f"IpEnrichment option 'database': no file at {database!r} nor at {shipped!r}")


@functools.cache
def _reader(database: str) -> maxminddb.Reader:
    """One memory-mapped reader per database per Python worker process."""
    import maxminddb

    return maxminddb.open_database(resolve_database(database), maxminddb.MODE_AUTO)


def _name(record: dict, key: str) -> str | None:
    return ((record.get(key) or {}).get("names") or {}).get("en")


def geo_of(reader: maxminddb.Reader, address: str | None) -> tuple[str | None, ...]:
    """The geo values of one address (as ``recorded_client_ip`` gives it), in ``GEO_FIELDS``
    order; all null without an address or when the database has no record for it."""
    record = reader.get(address) if address else None
    if not isinstance(record, dict):
        return (None,) * len(GEO_FIELDS)
    subdivisions = record.get("subdivisions") or [{}]
    metro = (record.get("location") or {}).get("metro_code")
    return (
        _name(record, "continent"),
        None,
        _name(record, "country"),
        ((subdivisions[0] or {}).get("names") or {}).get("en"),
        _name(record, "city"),
        None if metro is None else str(metro),
    )


@functools.lru_cache(maxsize=200_000)
def _geo_once(database: str, trusted_proxies: int, recorded: str) -> tuple[str | None, ...]:
    """Each distinct ``_ip`` is resolved and looked up once per worker process."""
    return geo_of(_reader(database), recorded_client_ip(recorded, trusted_proxies))


def _lookup_batches(database: str, trusted_proxies: int, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    import pandas as pd

    for batch in batches:
        rows = [(recorded, *_geo_once(database, trusted_proxies, recorded)) for recorded in batch["_ip"]]
        yield pd.DataFrame(rows, columns=LOOKUP_SCHEMA.fieldNames())


class IpEnrichment(ElementEnrichment):
    """Fills ``geo`` from ``_ip`` with a MaxMind-format City database.

    ``database``: path of the ``.mmdb``. It must exist where the job is planned, or be shipped
    with the job as a dependency file of the same name (EMR: ``--files``), in which case each
    executor opens its own copy. ``trusted_proxies`` is no option: the job passes
    ``pipeline.ingestion.trusted_proxies`` (its ``--trusted-proxies``), the proxies in front of
    the ingestion service that append to ``X-Forwarded-For``.
    """

    job_settings: ClassVar[dict[str, str]] = {"trusted_proxies": "pipeline.ingestion.trusted_proxies"}

    def __init__(self, database: str, trusted_proxies: int = 0) -> None:
        if isinstance(trusted_proxies, bool) or not isinstance(trusted_proxies, int) or trusted_proxies < 0:
            raise ValueError(f"IpEnrichment setting 'trusted_proxies': expected a whole number >= 0, got {trusted_proxies!r}")
        if not database:
            raise ValueError("IpEnrichment option 'database': the path of a GeoLite2-City or DB-IP City .mmdb is required")
        if Path(database).is_file():
            import maxminddb

            try:
                maxminddb.open_database(database).close()
            except (maxminddb.InvalidDatabaseError, ValueError) as error:
                raise ValueError(f"IpEnrichment option 'database': {database!r} is not a MaxMind DB: {error}") from None
        elif not _shipped_with_job(Path(database).name):
            raise ValueError(
                f"IpEnrichment option 'database': no file at {database!r}, and no dependency file named "
                f"{Path(database).name!r} is shipped with the job; see plugins/ENRICHMENT.md"
            )
        self.database = database
        self.trusted_proxies = trusted_proxies

    def enrich_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        nowhere = (None,) * len(GEO_FIELDS)

        def geo(recorded: str | None) -> tuple[str | None, ...]:
            return _geo_once(self.database, self.trusted_proxies, recorded) if recorded else nowhere

        columns = distinct_mapped(batch.column("_ip"), geo, len(GEO_FIELDS))
        return with_struct_fields(batch, "geo", dict(zip(GEO_FIELDS, columns)))

    def lookups(self, df: DataFrame) -> DataFrame:
        """One row per distinct non-empty ``_ip``: the only values resolved and looked up."""
        distinct = df.select("_ip").where(F.col("_ip").isNotNull() & (F.col("_ip") != "")).distinct()
        return distinct.mapInPandas(functools.partial(_lookup_batches, self.database, self.trusted_proxies), schema=LOOKUP_SCHEMA)

    def transform(self, df: DataFrame) -> DataFrame:
        # Left join: events without a usable address keep their row, with null geo fields.
        # Broadcast, as in the UA enrichment: the wide event rows are not shuffled for the join.
        joined = df.join(F.broadcast(self.lookups(df)), on="_ip", how="left")
        geo = F.col("geo")
        for name in GEO_FIELDS:
            geo = geo.withField(name, F.col(f"_{name}"))
        return joined.withColumn("geo", geo).select(*df.columns)
