"""IpEnrichment: geo lookup of the client address (DATA_CONTRACT §4) against a tiny
GeoLite2-City-shaped database. Which entry is the client is clickstream_contract.client_ip's rule,
tested in tests/ingestion/test_ingest_client_ip.py; here, that the enrichment applies it with the
configured trusted_proxies."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from plugins.base import load_plugin
from plugins.cleaning import clean
from plugins.enrich_ip import IpEnrichment
from plugins.ods_schema import GEO
from plugins.sdk_transformer import SdkTransformer
from tests.conftest import make_config
from tests.processing.conftest import event, raw_record, write_raw_hour
from tests.processing.geo_db import write_city_db

pytestmark = pytest.mark.spark

GEO_COLUMNS = ["continent", "sub_continent", "country", "region", "city", "metro", "locale"]
GEO_ROW = ", ".join(f"{name} string" for name in ["_ip", *GEO_COLUMNS])
MOUNTAIN_VIEW = ("North America", None, "United States", "California", "Mountain View", "807")
BERLIN = ("Europe", None, "Germany", "Land Berlin", "Berlin", None)
TOKYO = ("Asia", None, "Japan", "Tokyo", "Tokyo", None)
AUSTRALIA = ("Oceania", None, "Australia", None, None, None)
NOWHERE = (None,) * 6
IP_PLUGIN = "plugins.enrich_ip.IpEnrichment"


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    return str(write_city_db(tmp_path_factory.mktemp("geo") / "GeoLite2-City.mmdb"))


@pytest.fixture
def events(spark):
    """Frames shaped like the transformer's output as far as this enrichment cares."""

    def build(addresses):
        rows = [(f"e{i}", {"locale": "en_US"}, address) for i, address in enumerate(addresses)]
        schema = T.StructType([T.StructField("event_id", T.StringType()), T.StructField("geo", GEO), T.StructField("_ip", T.StringType())])
        return spark.createDataFrame(rows, schema)

    return build


def geo_fields(frame):
    return frame.select("_ip", *[F.col(f"geo.{name}").alias(name) for name in GEO_COLUMNS])


def expected(spark, rows):
    return spark.createDataFrame([(ip, *geo, "en_US") for ip, geo in rows], GEO_ROW)


def test_addresses_and_forwarded_for_lists(spark, events, database):
    rows = [
        ("203.0.113.9", MOUNTAIN_VIEW),
        ("198.51.100.7, 203.0.113.9, 10.0.0.2", BERLIN),  # the first entry is the client
        ("2001:db8::1", TOKYO),
        ("[2001:db8::2]:443", TOKYO),
        ("203.0.113.10:51234", MOUNTAIN_VIEW),
        (" 192.0.2.1 ,10.0.0.1", AUSTRALIA),  # country-level record: no region, city or metro
        ("::ffff:198.51.100.7", BERLIN),
        ("10.0.0.1", NOWHERE),  # private: in no database
        ("unknown, 203.0.113.9", NOWHERE),
        ("not an address", NOWHERE),
        ("", NOWHERE),
        (None, NOWHERE),
    ]
    out = IpEnrichment(database=database).transform(events([ip for ip, _ in rows]))
    assertDataFrameEqual(geo_fields(out), expected(spark, rows))


def test_trusted_proxies_count_from_the_right(spark, events, database):
    rows = [
        ("198.51.100.7, 203.0.113.9", MOUNTAIN_VIEW),  # the forged-able left entry is ignored
        ("203.0.113.9", MOUNTAIN_VIEW),
        ("198.51.100.7, 2001:db8::1, 10.0.0.1", NOWHERE),  # one trusted proxy: the last entry
    ]
    out = IpEnrichment(database=database, trusted_proxies=1).transform(events([ip for ip, _ in rows]))
    assertDataFrameEqual(geo_fields(out), expected(spark, rows))


def test_locale_other_columns_and_row_count_are_kept(spark, events, database):
    frame = events(["203.0.113.9", "203.0.113.9", None, "10.0.0.1"])
    out = IpEnrichment(database=database).transform(frame)
    assert out.columns == frame.columns
    assert out.schema.simpleString() == frame.schema.simpleString()
    assertDataFrameEqual(
        out.select("event_id", "geo.locale"),
        spark.createDataFrame([(f"e{i}", "en_US") for i in range(4)], "event_id string, locale string"),
    )


def test_each_distinct_recorded_address_is_resolved_once(spark, events, database):
    frame = events(["203.0.113.9"] * 40 + ["203.0.113.9, 10.0.0.1"] * 20 + ["[2001:db8::1]:443"] * 10 + [""] * 3 + [None] * 5)
    # lookups() is the whole input of the client rule and the database reader: one row per
    # distinct _ip (the reader's results are memoised per client address on top).
    lookups = IpEnrichment(database=database).lookups(frame)
    assertDataFrameEqual(
        lookups.select("_ip"), spark.createDataFrame([("203.0.113.9",), ("203.0.113.9, 10.0.0.1",), ("[2001:db8::1]:443",)], "_ip string")
    )


def test_options_are_validated(tmp_path):
    with pytest.raises(ValueError, match="option 'database'.*Missing-City.mmdb"):
        IpEnrichment(database=str(tmp_path / "Missing-City.mmdb"))
    (tmp_path / "not.mmdb").write_text("hello")
    with pytest.raises(ValueError, match="option 'database'.*not a MaxMind DB"):
        IpEnrichment(database=str(tmp_path / "not.mmdb"))
    with pytest.raises(ValueError, match="setting 'trusted_proxies'"):
        IpEnrichment(database=str(tmp_path / "not.mmdb"), trusted_proxies=-1)


def test_trusted_proxies_is_the_ingestion_setting_not_an_option(database):
    with pytest.raises(ValueError, match=r"'trusted_proxies' is not an option; set pipeline\.ingestion\.trusted_proxies"):
        load_plugin(IP_PLUGIN, "enrichment", database=database, trusted_proxies=1)
    plugin = load_plugin(IP_PLUGIN, "enrichment", job_settings={"trusted_proxies": 2, "other": 5}, database=database)
    assert plugin.trusted_proxies == 2
    # Plugins that do not declare the setting are built without it.
    load_plugin("plugins.enrich_ua.UserAgentEnrichment", "enrichment", job_settings={"trusted_proxies": 2})


def test_database_shipped_with_the_job_is_found_by_name(spark, events, tmp_path):
    # EMR: `--files s3://.../Shipped-City.mmdb` puts the file in each executor's SparkFiles
    # directory; the configured path need not exist where the job is planned. The name is
    # unique because the file stays registered with the shared session.
    spark.sparkContext.addFile(str(write_city_db(tmp_path / "Shipped-City.mmdb")))
    out = IpEnrichment(database="/nowhere/Shipped-City.mmdb").transform(events(["203.0.113.9"]))
    assertDataFrameEqual(geo_fields(out), expected(spark, [("203.0.113.9", MOUNTAIN_VIEW)]))


def test_both_enrichments_after_the_sdk_transformer(spark, raw_frame, database):
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.4 Mobile/15E148 Safari/604.1"
    records = [
        raw_record(json.dumps([event("e1", locale="de_DE"), event("e2")]), rid="r1", ip="198.51.100.7, 10.0.0.1", ua=iphone),
        raw_record(json.dumps([event("e3")]), rid="r2", ip="10.1.2.3", ua=None),
    ]
    transformed = SdkTransformer(project_id="p").transform(clean(raw_frame(records), ["shop_android"]).events)
    out = load_plugin(IP_PLUGIN, "enrichment", database=database).transform(
        load_plugin("plugins.enrich_ua.UserAgentEnrichment", "enrichment").transform(transformed)
    )
    assertDataFrameEqual(
        out.select("event_id", "geo.country", "geo.region", "geo.city", "geo.locale", "device.ua_browser", "device.ua_device_category"),
        spark.createDataFrame(
            [
                ("e1", "Germany", "Land Berlin", "Berlin", "de_DE", "Mobile Safari", "mobile"),
                ("e2", "Germany", "Land Berlin", "Berlin", None, "Mobile Safari", "mobile"),
                ("e3", None, None, None, None, None, "other"),
            ],
            "event_id string, country string, region string, city string, locale string, ua_browser string, ua_device_category string",
        ),
    )
    assert out.count() == 3


def test_inside_the_python_pass_gives_the_same_rows(spark, events, database):
    """The job runs this enrichment on Arrow batches inside its Python pass (enrich_batch);
    the rows must equal the DataFrame form's, for every shape of address."""
    addresses = [
        "203.0.113.9",
        "198.51.100.7, 10.0.0.1",
        "[2001:db8::1]:443",
        "192.0.2.1:8080",
        "::ffff:203.0.113.9",
        "unknown",
        " ",
        "",
        None,
        "10.0.0.1",
        "a, b, 203.0.113.9",
    ]
    for proxies in (0, 1, 2):
        frame = events(addresses)
        enrichment = IpEnrichment(database=database, trusted_proxies=proxies)
        in_pass = [row for batch in frame.toArrow().to_batches() for row in enrichment.enrich_batch(batch).to_pylist()]
        as_frame = enrichment.transform(frame).toArrow().to_pylist()
        assert sorted(in_pass, key=lambda row: row["event_id"]) == sorted(as_frame, key=lambda row: row["event_id"]), proxies


def test_behind_a_load_balancer_the_configured_proxies_reach_the_job_through_dagster(tmp_path, database):
    """The production shape: `pipeline.ingestion.trusted_proxies: 1` (the ALB) is the only
    setting; the job Dagster launches takes the client the ALB saw, not the entry the client
    forged (198.51.100.7 stands in for a forged 6.6.6.6, 203.0.113.9 for the real 1.1.1.1)."""
    import dagster as dg
    import duckdb

    from clickstream_dagster.lake.partitions import hour_to_partition_key
    from clickstream_dagster.processing.resources import LocalSparkJobResource
    from clickstream_dagster.resources import ProjectResource
    from clickstream_project.config import save_config
    from tests.dagster.lake_assets import ods_events

    config = make_config(
        tmp_path,
        pipeline={
            "ingestion": {"trusted_proxies": 1, "cors_origins": ["https://shop.example.com"]},
            "processing": {"enrichments": [{"name": IP_PLUGIN, "options": {"database": database}}]},
        },
    )
    save_config(config, tmp_path / "clickstream.yaml")
    # A recent hour: valid for the hourly partitions wherever they start.
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    ingest_ms = int(hour.timestamp() * 1000) + 60_000
    records = [
        raw_record(
            json.dumps([event("forged", timestamp=ingest_ms - 1000)]), rid="r1", ingest_time=ingest_ms, ip="198.51.100.7, 203.0.113.9"
        ),
        # No header: the peer itself is recorded.
        raw_record(json.dumps([event("direct", timestamp=ingest_ms - 1000)]), rid="r2", ingest_time=ingest_ms, ip="2001:db8::1"),
    ]
    write_raw_hour(Path(config.raw_root), f"{hour:%Y%m%d%H}", records)

    result = dg.materialize(
        [ods_events],
        partition_key=hour_to_partition_key(hour),
        resources={
            "clickstream": ProjectResource(config_path=str(tmp_path / "clickstream.yaml")),
            "spark_job": LocalSparkJobResource(master="local[1]", shuffle_partitions=1, driver_memory="1g"),
        },
    )

    assert result.success
    with duckdb.connect() as connection:
        rows = connection.execute(
            f"select event_id, geo.country, geo.city from read_parquet('{config.ods_root}/ods_events/*/*/*/*/*.parquet') order by event_id"
        ).fetchall()
    assert rows == [("direct", "Japan", "Tokyo"), ("forged", "United States", "Mountain View")]
