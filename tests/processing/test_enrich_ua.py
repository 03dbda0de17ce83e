"""UserAgentEnrichment: the ua_* rules of DATA_CONTRACT §4 on tiny inline frames."""

import json

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from plugins.base import load_plugin
from plugins.cleaning import clean
from plugins.enrich_ua import UA_FIELDS, UserAgentEnrichment, version
from plugins.ods_schema import DEVICE
from plugins.sdk_transformer import SdkTransformer
from tests.processing.conftest import event, raw_record

pytestmark = pytest.mark.spark

CHROME_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36"
SAFARI_IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.4 Mobile/15E148 Safari/604.1"
CHROME_ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 15_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID_TABLET = "Mozilla/5.0 (Linux; Android 12; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36"
KINDLE = (
    "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/119.3.1 like Chrome/119.0.6045.193 Safari/537.36"
)
SAFARI_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
CHROMEBOOK = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SAMSUNG_TV = "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36"
CURL = "curl/8.4.0"

UA_ROW = T.StructType([T.StructField("_ua", T.StringType()), *[T.StructField(name, T.StringType()) for name in UA_FIELDS]])


@pytest.fixture
def events(spark):
    """Frames shaped like the transformer's output, as far as this enrichment cares: a device
    struct with every DEVICE field, another ods column, and the _ua context column."""

    def build(user_agents):
        rows = [(f"e{i}", {"mobile_brand_name": "brand"}, ua) for i, ua in enumerate(user_agents)]
        schema = T.StructType(
            [T.StructField("event_id", T.StringType()), T.StructField("device", DEVICE), T.StructField("_ua", T.StringType())]
        )
        return spark.createDataFrame(rows, schema)

    return build


def ua_fields(frame):
    return frame.select("_ua", *[F.col(f"device.{name}").alias(name) for name in UA_FIELDS])


def test_browsers_os_devices_and_categories(spark, events):
    out = UserAgentEnrichment().transform(events([CHROME_WINDOWS, SAFARI_IPHONE, CHROME_ANDROID_PHONE, SAFARI_IPAD, GOOGLEBOT, CURL]))
    expected = [
        (CHROME_WINDOWS, "Chrome", "120.0.6099", "Windows", "10", None, "desktop"),
        (SAFARI_IPHONE, "Mobile Safari", "16.4", "iOS", "16.4", "iPhone", "mobile"),
        (CHROME_ANDROID_PHONE, "Chrome Mobile", "116.0.0", "Android", "13", "Pixel 7", "mobile"),
        (SAFARI_IPAD, "Mobile Safari", "15.6", "iOS", "15.6", "iPad", "tablet"),
        (GOOGLEBOT, "Googlebot", "2.1", None, None, "Spider", "bot"),
        (CURL, "curl", "8.4.0", None, None, None, "other"),
    ]
    assertDataFrameEqual(ua_fields(out), spark.createDataFrame(expected, UA_ROW))


def test_category_rules(spark, events):
    agents = [CHROME_ANDROID_TABLET, KINDLE, SAFARI_MAC, FIREFOX_LINUX, CHROMEBOOK, SAMSUNG_TV]
    out = UserAgentEnrichment().transform(events(agents))
    expected = [(CHROME_ANDROID_TABLET, "tablet"), (KINDLE, "tablet"), (SAFARI_MAC, "desktop"), (FIREFOX_LINUX, "desktop"),
                (CHROMEBOOK, "desktop"), (SAMSUNG_TV, "other")]  # fmt: skip
    assertDataFrameEqual(
        out.select("_ua", "device.ua_device_category"), spark.createDataFrame(expected, "_ua string, ua_device_category string")
    )


def test_missing_or_unrecognised_user_agent_is_other_with_null_fields(spark, events):
    out = UserAgentEnrichment().transform(events([None, "", "Mozilla/5.0"]))
    expected = [(ua, None, None, None, None, None, "other") for ua in [None, "", "Mozilla/5.0"]]
    assertDataFrameEqual(ua_fields(out), spark.createDataFrame(expected, UA_ROW))


def test_version_joins_the_parts_up_to_the_first_missing_one():
    assert version("16", "4", None) == "16.4"
    assert version("120", "0", "6099") == "120.0.6099"
    assert version("10", None, "7") == "10"
    assert version(None, None, None) is None
    assert version("", "1", "2") is None


def test_other_columns_and_device_fields_are_kept_and_no_row_is_lost(spark, events):
    frame = events([CHROME_WINDOWS, CHROME_WINDOWS, None, None, SAFARI_IPAD])
    out = UserAgentEnrichment().transform(frame)
    assert out.columns == frame.columns
    assert out.schema.simpleString() == frame.schema.simpleString()
    assertDataFrameEqual(
        out.select("event_id", "device.mobile_brand_name"),
        spark.createDataFrame([(f"e{i}", "brand") for i in range(5)], "event_id string, mobile_brand_name string"),
    )


def test_each_distinct_user_agent_is_parsed_once(spark, events):
    frame = events([CHROME_WINDOWS] * 50 + [SAFARI_IPHONE] * 30 + [None] * 10 + [""] * 5)
    # lookups() is the whole input of the Python parser: one row per distinct non-empty value.
    lookups = UserAgentEnrichment().lookups(frame)
    assertDataFrameEqual(lookups.select("_ua"), spark.createDataFrame([(CHROME_WINDOWS,), (SAFARI_IPHONE,)], "_ua string"))


def test_loaded_by_name_and_run_after_the_sdk_transformer(spark, raw_frame):
    record = raw_record(json.dumps([event("e1"), event("e2")]), ua=SAFARI_IPHONE)
    transformed = SdkTransformer(project_id="p").transform(clean(raw_frame([record]), ["shop_android"]).events)
    out = load_plugin("plugins.enrich_ua.UserAgentEnrichment", "enrichment").transform(transformed)
    assertDataFrameEqual(
        out.select("event_id", "device.ua_browser", "device.ua_os_version", "device.ua_device_category", "device.operating_system"),
        spark.createDataFrame(
            [("e1", "Mobile Safari", "16.4", "mobile", "Android"), ("e2", "Mobile Safari", "16.4", "mobile", "Android")],
            "event_id string, ua_browser string, ua_os_version string, ua_device_category string, operating_system string",
        ),
    )


def test_inside_the_python_pass_gives_the_same_rows(spark, events):
    """The job runs this enrichment on Arrow batches inside its Python pass (enrich_batch);
    the rows must equal the DataFrame form's."""
    frame = events([CHROME_WINDOWS, SAFARI_IPHONE, KINDLE, GOOGLEBOT, SAMSUNG_TV, CURL, CHROME_WINDOWS, None, ""])
    enrichment = UserAgentEnrichment()
    in_pass = [row for batch in frame.toArrow().to_batches() for row in enrichment.enrich_batch(batch).to_pylist()]
    as_frame = enrichment.transform(frame).toArrow().to_pylist()
    assert sorted(in_pass, key=lambda row: row["event_id"]) == sorted(as_frame, key=lambda row: row["event_id"])
    assert {row["device"]["mobile_brand_name"] for row in in_pass} == {"brand"}
