"""IP enrichment: fills ``geo`` (all but ``locale``) from the client address in ``_ip``.

``_ip`` holds the raw ``X-Forwarded-For`` value (``client, proxy1, proxy2``) or the peer address.
The client address is picked and normalised with built-in functions; each distinct address is
then looked up once in a MaxMind-format City database (GeoLite2-City, DB-IP Lite City) on the
executors and the result is joined back, instead of a per-row UDF.

Rules (DATA_CONTRACT §4 and plugins/ENRICHMENT.md):

- ``trusted_proxies=0``: the first (leftmost) entry is the client, as the contract says.
  ``trusted_proxies=N``: the N-th entry from the right, i.e. the address the outermost of your N
  trusted proxies saw (entries left of it are client-supplied and can be forged); with fewer
  than N entries, the leftmost.
- ``[v6]:port``, ``v4:port`` and surrounding blanks are stripped, ``::ffff:a.b.c.d`` is read as
  IPv4. Anything that is not then an IPv4/IPv6 address (``unknown``, empty, garbage) gets null
  geo fields, as does an address the database does not know (private, reserved, unallocated).
- continent, country, region (first subdivision) and city are the English names; metro is the
  US metro code as text where the database has one; sub_continent stays null, as neither
  GeoLite2 nor DB-IP Lite has a sub-continent.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from plugins.arrow_columns import with_struct_fields
from plugins.base import ElementEnrichment

if TYPE_CHECKING:
    import maxminddb
    import pandas as pd
    import pyarrow as pa

GEO_FIELDS = ["continent", "sub_continent", "country", "region", "city", "metro"]
KEY = "_client_ip"
LOOKUP_SCHEMA = T.StructType([T.StructField(name, T.StringType()) for name in [KEY, *[f"_{f}" for f in GEO_FIELDS]]])


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
    """The geo values of one address, in ``GEO_FIELDS`` order; all null when it is not a valid
    address or the database has no record for it."""
    try:
        ip = ipaddress.ip_address(address) if address else None
    except ValueError:
        ip = None
    # Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d; not every database aliases those.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    record = reader.get(ip) if ip else None
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


def _lookup_batches(database: str, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    import pandas as pd

    reader = _reader(database)
    for batch in batches:
        rows = [(address, *geo_of(reader, address)) for address in batch[KEY]]
        yield pd.DataFrame(rows, columns=LOOKUP_SCHEMA.fieldNames())


@functools.lru_cache(maxsize=200_000)
def _geo_once(database: str, address: str) -> tuple[str | None, ...]:
    """Each distinct address is looked up once per worker process."""
    return geo_of(_reader(database), address)


_BRACKETED = re.compile(r"^\[([^\]]*)\]")
_WITH_PORT = re.compile(r"[^:]*:\d+")


def client_address_text(forwarded_for: str | None, trusted_proxies: int) -> str | None:
    """``client_address`` for one value, in Python (the same rules, for the Python pass)."""
    if forwarded_for is None:
        return None
    entries = [entry.strip(" ") for entry in forwarded_for.split(",")]
    entry = entries[0] if trusted_proxies == 0 else entries[-min(len(entries), trusted_proxies)]
    if entry.startswith("["):
        match = _BRACKETED.match(entry)
        host = match.group(1) if match else ""
    elif _WITH_PORT.fullmatch(entry):
        host = entry.split(":", 1)[0]
    else:
        host = entry
    return host or None


def client_address(forwarded_for: Column, trusted_proxies: int) -> Column:
    """The client's entry of an ``X-Forwarded-For`` list (see the module rules), without port or
    brackets; null when empty."""
    entries = F.transform(F.split(forwarded_for, ","), lambda entry: F.trim(entry))
    if trusted_proxies == 0:
        entry = F.element_at(entries, 1)
    else:
        entry = F.element_at(entries, -F.least(F.size(entries), F.lit(trusted_proxies)))
    host = (
        F.when(entry.startswith("["), F.regexp_extract(entry, r"^\[([^\]]*)\]", 1))
        # One colon means IPv4 (or a name) with a port; an IPv6 address has at least two.
        .when(entry.rlike(r"^[^:]*:\d+$"), F.substring_index(entry, ":", 1))
        .otherwise(entry)
    )
    return F.nullif(host, F.lit(""))


class IpEnrichment(ElementEnrichment):
    """Fills ``geo`` from ``_ip`` with a MaxMind-format City database.

    ``database``: path of the ``.mmdb``. It must exist where the job is planned, or be shipped
    with the job as a dependency file of the same name (EMR: ``--files``), in which case each
    executor opens its own copy. ``trusted_proxies``: how many proxies you run in front of the
    ingestion server that append to ``X-Forwarded-For`` (0 = trust the leftmost entry).
    """

    def __init__(self, database: str, trusted_proxies: int = 0) -> None:
        if isinstance(trusted_proxies, bool) or not isinstance(trusted_proxies, int) or trusted_proxies < 0:
            raise ValueError(f"IpEnrichment option 'trusted_proxies': expected a whole number >= 0, got {trusted_proxies!r}")
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
        import pyarrow as pa

        nowhere = (None,) * len(GEO_FIELDS)
        geos = []
        for forwarded_for in batch.column("_ip").to_pylist():
            address = client_address_text(forwarded_for, self.trusted_proxies)
            geos.append(_geo_once(self.database, address) if address else nowhere)
        columns = list(zip(*geos)) if geos else [()] * len(GEO_FIELDS)
        return with_struct_fields(batch, "geo", {name: pa.array(list(column), pa.string()) for name, column in zip(GEO_FIELDS, columns)})

    def lookups(self, df: DataFrame) -> DataFrame:
        """One row per distinct client address: the only rows the database sees."""
        addresses = df.select(client_address(F.col("_ip"), self.trusted_proxies).alias(KEY))
        return (
            addresses.where(F.col(KEY).isNotNull())
            .distinct()
            .mapInPandas(functools.partial(_lookup_batches, self.database), schema=LOOKUP_SCHEMA)
        )

    def transform(self, df: DataFrame) -> DataFrame:
        # Left join: events without a usable address keep their row, with null geo fields.
        with_key = df.withColumn(KEY, client_address(F.col("_ip"), self.trusted_proxies))
        # Broadcast, as in the UA enrichment: the wide event rows are not shuffled for the join.
        joined = with_key.join(F.broadcast(self.lookups(df)), on=KEY, how="left")
        geo = F.col("geo")
        for name in GEO_FIELDS:
            geo = geo.withField(name, F.col(f"_{name}"))
        return joined.withColumn("geo", geo).select(*df.columns)
