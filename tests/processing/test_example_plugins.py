"""The example plugins (plugins/examples), tested the way plugins/README.md tells users to:
tiny inline frames, whole-frame comparisons, and loading through ``load_plugin`` with options."""

import datetime
import hashlib
import json
import uuid

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from plugins.base import load_plugin
from plugins.cleaning import MISSING_FIELD, Freshness, clean
from plugins.examples.cognito_sync import CognitoSyncTransformer
from plugins.examples.currency import UsdValueEnrichment
from plugins.ods_schema import CONTEXT_COLUMNS, DEVICE, GEO, ODS_EVENTS_SCHEMA, TRAFFIC_SOURCE, USER_LTV
from plugins.typed_values import KV_TYPE
from tests.conftest import SDK_SAMPLES
from tests.processing.conftest import INGEST_MS, raw_record

pytestmark = pytest.mark.spark

CURRENCY = "plugins.examples.currency.UsdValueEnrichment"
COGNITO = "plugins.examples.cognito_sync.CognitoSyncTransformer"
RATES_CSV = "currency,usd_rate\nUSD,1\nEUR,1.5\nJPY,0.01\n"


def value(double=None, integer=None, string=None):
    return (double, None, integer, string)


# --- UsdValueEnrichment ------------------------------------------------------------------------

PARAMS_FRAME_SCHEMA = T.StructType(
    [
        T.StructField("event_id", T.StringType()),
        T.StructField("event_params", T.ArrayType(KV_TYPE)),
        T.StructField("event_value_in_usd", T.DoubleType()),
        T.StructField("_rid", T.StringType()),
    ]
)


@pytest.fixture
def rates_file(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(RATES_CSV)
    return path


def test_usd_value_from_value_and_currency_params(spark, rates_file):
    rows = [
        ("eur_double", [("_currency", value(string="EUR")), ("_value", value(double=10.0))], None, "r1"),
        ("jpy_int_lowercase", [("_currency", value(string=" jpy ")), ("_value", value(integer=500))], None, "r2"),
        ("usd", [("_currency", value(string="USD")), ("_value", value(double=2.25))], None, "r3"),
        ("unknown_currency", [("_currency", value(string="GBP")), ("_value", value(double=1.0))], None, "r4"),
        ("no_currency", [("_value", value(double=1.0))], None, "r5"),
        ("no_value", [("_currency", value(string="EUR"))], None, "r6"),
        ("string_value", [("_currency", value(string="EUR")), ("_value", value(string="12"))], None, "r7"),
        ("already_set", [("_currency", value(string="EUR")), ("_value", value(double=10.0))], 99.0, "r8"),
        ("no_params", None, None, "r9"),
    ]
    events = spark.createDataFrame(rows, PARAMS_FRAME_SCHEMA)

    out = UsdValueEnrichment(rates=str(rates_file)).transform(events)

    in_usd = {"eur_double": 15.0, "jpy_int_lowercase": 5.0, "usd": 2.25, "already_set": 99.0}
    expected = spark.createDataFrame([(e, p, in_usd.get(e), r) for e, p, _, r in rows], PARAMS_FRAME_SCHEMA)
    assertDataFrameEqual(out, expected)


def test_load_enrichment_by_dotted_name_with_options(spark, rates_file):
    plugin = load_plugin(CURRENCY, "enrichment", rates=str(rates_file))
    assert isinstance(plugin, UsdValueEnrichment)
    assert plugin.rates == {"USD": 1.0, "EUR": 1.5, "JPY": 0.01}


def test_missing_rates_file_fails_when_the_plugin_is_loaded(tmp_path):
    missing = tmp_path / "no_such_rates.csv"
    with pytest.raises(ValueError, match=r"UsdValueEnrichment: rates file '.*no_such_rates.csv' not found.*'files:'"):
        load_plugin(CURRENCY, "enrichment", rates=str(missing))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code,rate\nEUR,1.1\n", "expected a header line 'currency,usd_rate'"),
        ("currency,usd_rate\nEURO,1.1\n", "line 2: 'EURO' is not a three-letter currency code"),
        ("currency,usd_rate\nEUR,abc\n", "line 2: usd_rate 'abc' is not a number"),
        ("currency,usd_rate\nEUR,-1\n", "line 2: usd_rate must be a positive number"),
        ("currency,usd_rate\nEUR,1.1\neur,1.2\n", "line 3: EUR is listed twice"),
        ("currency,usd_rate\n", "no rates"),
    ],
)
def test_malformed_rates_file_is_rejected(tmp_path, text, message):
    path = tmp_path / "rates.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        UsdValueEnrichment(rates=str(path))


def test_rates_file_shipped_with_the_job_is_found_by_base_name(spark, tmp_path, monkeypatch):
    """On EMR Serverless the configured path does not exist on the driver; the shipped copy
    in the SparkFiles directory is used (SparkContext.addFile is what --files does)."""
    name = f"rates_{uuid.uuid4().hex}.csv"  # addFile refuses a second, different file of one name
    (tmp_path / "upload").mkdir()
    (tmp_path / "upload" / name).write_text(RATES_CSV)
    spark.sparkContext.addFile(str(tmp_path / "upload" / name))
    monkeypatch.chdir(tmp_path)

    plugin = UsdValueEnrichment(rates=f"s3://bucket/deps/{name}")

    assert plugin.rates["EUR"] == 1.5
    assert plugin.rates_path.endswith(name) and "upload" not in plugin.rates_path


# --- CognitoSyncTransformer ------------------------------------------------------------------

CLEANED_SCHEMA = T.StructType(
    [
        T.StructField("ingest_hour", T.StringType()),
        T.StructField("ingest_time", T.LongType()),
        T.StructField("uri", T.StringType()),
        T.StructField("_rid", T.StringType()),
        T.StructField("_ip", T.StringType()),
        T.StructField("_ua", T.StringType()),
        T.StructField("method", T.StringType()),
        T.StructField("event_json", T.StringType()),
    ]
)
OUTPUT_SCHEMA = T.StructType([*ODS_EVENTS_SCHEMA.fields, *[T.StructField(c, T.StringType()) for c in CONTEXT_COLUMNS]])
SAMPLE_TIME = 1424801824343  # lastModifiedDate of the sample: 2015-02-24T18:17:04.343Z
IDENTITY = "us-east-1:7f2e9d3a-identity"
POOL = "us-east-1:0c6b1f5e-pool"


def cleaned_frame(spark, elements, *, ingest_time=INGEST_MS, rid="r1"):
    """Rows shaped like ``clean(...).events``: one JSON-array element per row, in ``event``."""
    rows = [("2023111422", ingest_time, "/collect?appId=prefs", rid, "203.0.113.9", "aws-sdk", "POST", json.dumps(e)) for e in elements]
    frame = spark.createDataFrame(rows, CLEANED_SCHEMA)
    return frame.withColumn("event", F.parse_json("event_json")).drop("event_json")


def expected_event_id(identity, dataset, key, sync_count):
    # Spark's to_json of the four strings, compact and without ASCII escaping.
    text = json.dumps([identity, dataset, key, str(sync_count)], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def empty(schema):
    return tuple(None for _ in schema.fields)


def cognito_row(
    *,
    key,
    val,
    sync_count,
    op="replace",
    timestamp=SAMPLE_TIME,
    dataset="preferences",
    identity=IDENTITY,
    ingest_time=INGEST_MS,
    rid="r1",
    app_id="prefs_app",
    pool=POOL,
    operation="replace",
    device_time=SAMPLE_TIME,
):
    params = [
        ("dataSetName", value(string=dataset)),
        ("deviceLastModifiedDate", value(integer=device_time)),
        ("identityPoolId", value(string=pool)),
        ("key", value(string=key)),
        ("op", value(string=op)),
        ("operation", value(string=operation)),
        ("syncCount", value(integer=sync_count)),
        ("value", value(string=val)),
    ]
    return {
        "app_info": (app_id, None, None, None),
        "device": empty(DEVICE),
        "ecommerce": None,
        "event_bundle_sequence_id": 0,
        "event_date": datetime.datetime.fromtimestamp(timestamp / 1000, datetime.UTC).date(),
        "event_dimensions": None,
        "event_id": expected_event_id(identity, dataset, key, sync_count),
        "event_name": f"cognito_sync_{op}",
        "event_params": params,
        "event_previous_timestamp": None,
        "event_server_timestamp_offset": ingest_time - timestamp,
        "event_timestamp": timestamp,
        "event_value_in_usd": None,
        "geo": empty(GEO),
        "ingest_timestamp": ingest_time,
        "items": None,
        "platform": "Cognito",
        "privacy_info": None,
        "project_id": "proj",
        "traffic_source": empty(TRAFFIC_SOURCE),
        "user_first_touch_timestamp": None,
        "user_id": None,
        "user_ltv": empty(USER_LTV),
        "user_properties": None,
        "user_pseudo_id": identity,
        "ingest_hour": "2023111422",
        "_rid": rid,
        "_ip": "203.0.113.9",
        "_ua": "aws-sdk",
    }


def expected_frame(spark, rows):
    return spark.createDataFrame([tuple(r[f.name] for f in OUTPUT_SCHEMA.fields) for r in rows], OUTPUT_SCHEMA)


@pytest.fixture
def sample_record():
    return json.loads((SDK_SAMPLES / "cognito_sync_record.json").read_text())


def test_sample_record_becomes_one_row_per_sync_entry(spark, sample_record):
    out = CognitoSyncTransformer(project_id="proj", app_id="prefs_app").transform(cleaned_frame(spark, [sample_record]))

    expected = [
        cognito_row(key="theme", val="dark", sync_count=3),
        cognito_row(key="font_size", val="14", sync_count=1),
    ]
    assertDataFrameEqual(out, expected_frame(spark, expected))
    assert out.schema.simpleString() == OUTPUT_SCHEMA.simpleString()
    assert str(expected[0]["event_date"]) == "2015-02-24"


def test_removed_key_fallback_time_and_records_without_inline_entries(spark):
    removed = {
        "identityId": "eu-west-1:abc",
        "dataSetName": "cart",
        "operation": "remove",
        "lastModifiedDate": 1_700_000_000_000,
        "kinesisSyncRecords": [{"key": "item:1", "value": None, "syncCount": 7, "op": "remove"}],
    }
    behind_url = {"identityId": "eu-west-1:abc", "dataSetName": "big", "payloadType": "S3Url",
                  "kinesisSyncRecordsURL": "https://example.com/x", "kinesisSyncRecords": None}  # fmt: skip
    out = CognitoSyncTransformer(project_id="proj", app_id="prefs_app").transform(
        cleaned_frame(spark, [removed, behind_url], ingest_time=1_700_000_005_000)
    )

    row = cognito_row(key="item:1", val=None, sync_count=7, op="remove", timestamp=1_700_000_000_000,
                      dataset="cart", identity="eu-west-1:abc", ingest_time=1_700_000_005_000,
                      pool=None, operation="remove", device_time=None)  # fmt: skip
    # Fields the record lacks (pool, device time) and the JSON null value: params of no value.
    missing = {"value", "identityPoolId", "deviceLastModifiedDate"}
    row["event_params"] = [p if p[0] not in missing else (p[0], value()) for p in row["event_params"]]
    assertDataFrameEqual(out, expected_frame(spark, [row]))


def test_replayed_record_keeps_its_event_id(spark, sample_record):
    twice = cleaned_frame(spark, [sample_record]).unionByName(cleaned_frame(spark, [sample_record], rid="r2"))
    out = CognitoSyncTransformer(project_id="proj", app_id="prefs_app").transform(twice)
    assert out.select("event_id").distinct().count() == 2
    assert out.count() == 4


def test_load_transformer_by_dotted_name_with_options(spark, sample_record):
    # The job passes project_id itself; app_id comes from the plugin's options.
    plugin = load_plugin(COGNITO, "transformer", project_id="proj", app_id="prefs_app")
    out = plugin.transform(cleaned_frame(spark, [sample_record]))
    assert sorted(r.event_name for r in out.collect()) == ["cognito_sync_replace"] * 2


def test_transformer_without_app_id_is_rejected():
    with pytest.raises(TypeError, match="app_id"):
        load_plugin(COGNITO, "transformer", project_id="proj")
    with pytest.raises(ValueError, match="option app_id is required"):
        load_plugin(COGNITO, "transformer", project_id="proj", app_id="")


def test_kinds_are_checked():
    with pytest.raises(ValueError, match="is not a enrichment plugin"):
        load_plugin(COGNITO, "enrichment", project_id="proj", app_id="prefs_app")


def test_transformer_then_enrichment_as_the_job_chains_them(spark, sample_record, rates_file):
    """No _value param in Cognito rows: the enrichment leaves the whole frame as it was."""
    events = CognitoSyncTransformer(project_id="proj", app_id="prefs_app").transform(cleaned_frame(spark, [sample_record]))
    enriched = UsdValueEnrichment(rates=str(rates_file)).transform(events)
    assertDataFrameEqual(enriched, events)
    assert enriched.schema.simpleString() == events.schema.simpleString()


def test_cognito_records_go_through_the_cleaning_step_with_the_transformers_rules(raw_frame, sample_record):
    """The cleaning step checks what the transformer declares (required_fields, timestamp_path,
    app_id_path), so a third-party format passes it and is quarantined by its own rules."""
    s3 = dict(sample_record, payloadType="S3Url", kinesisSyncRecords=None, kinesisSyncRecordsURL="https://x")
    plugin = CognitoSyncTransformer(project_id="p", app_id="prefs_app")
    raw = raw_frame([raw_record(json.dumps([sample_record, s3]), app_id="prefs_app", ingest_time=1424801824343 + 1000)])
    cleaned = clean(raw, ["prefs_app"], Freshness(), plugin)
    assert cleaned.events.count() == 1
    assert [(r.reason, r.app_id) for r in cleaned.quarantine.collect()] == [(MISSING_FIELD, "prefs_app")]
    assert plugin.transform(cleaned.events).count() == 2
    other_app = clean(raw, ["shop"], Freshness(), plugin)
    assert sorted(r.reason for r in other_app.quarantine.collect()) == [MISSING_FIELD, "unknown_app"]
    stale = clean(raw_frame([raw_record(json.dumps([sample_record]), app_id="prefs_app")]), ["prefs_app"], Freshness(), plugin)
    assert [r.reason for r in stale.quarantine.collect()] == ["stale_event"]


def test_bulk_publish_duplicate_in_another_record_keeps_its_event_id(spark, sample_record):
    """A bulk publish may deliver a change again inside a record of another shape (other
    entries, the record's own syncCount and time): the change's id does not depend on them."""
    bulk = dict(sample_record, syncCount=9, lastModifiedDate=1_500_000_000_000, kinesisSyncRecords=sample_record["kinesisSyncRecords"][:1])
    plugin = CognitoSyncTransformer(project_id="proj", app_id="prefs_app")
    regular = {r.event_id for r in plugin.transform(cleaned_frame(spark, [sample_record])).collect()}
    replayed = [r.event_id for r in plugin.transform(cleaned_frame(spark, [bulk], rid="r2")).collect()]
    assert replayed == [expected_event_id(IDENTITY, "preferences", "theme", 3)]
    assert set(replayed) <= regular
