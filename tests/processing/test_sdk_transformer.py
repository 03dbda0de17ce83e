"""The mapping of DATA_CONTRACT §4, one rule per test, on tiny inline frames."""

import json

import pytest
from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from plugins.cleaning import clean, mapped_events
from plugins.elements import Rules
from plugins.ods_schema import ODS_COLUMNS, ODS_EVENTS_SCHEMA
from plugins.passes import element_pass
from plugins.sdk_transformer import SdkTransformer
from tests.conftest import SDK_SAMPLES
from tests.processing.conftest import event, gzip_body, raw_record

pytestmark = pytest.mark.spark
APPS = ["shop_android", "Shopping", "notepad"]


def transform(raw_frame, records):
    """The job's path: the SDK mapping inside the single Python pass, from the JSON text."""
    transformer = SdkTransformer(project_id="proj")
    return mapped_events(element_pass(raw_frame(records), Rules.of(transformer, APPS), transformer))


def value(double=None, integer=None, string=None):
    return Row(double_value=double, float_value=None, int_value=integer, string_value=string)


def test_output_has_the_25_contract_columns_in_order(raw_frame):
    out = transform(raw_frame, [raw_record(json.dumps([event()]))])
    # simpleString compares names and types; nullability depends on the expression that built a column.
    assert out.select(*ODS_COLUMNS).schema.simpleString() == ODS_EVENTS_SCHEMA.simpleString()
    assert len(ODS_COLUMNS) == 25


def test_android_sample_payload_base64_gzip(raw_frame):
    sample = json.loads((SDK_SAMPLES / "android_event.json").read_text())
    sample["app_id"] = "notepad"
    ingest = sample["timestamp"] + 5_000
    row = transform(raw_frame, [raw_record(gzip_body([sample]), compression="gzip", ingest_time=ingest)]).collect()[0]

    assert row.event_id == "460daa08-0717-4385-8f2e-acb5bd019ee7"
    assert row.event_name == "PasswordReset"
    assert row.event_timestamp == 1667877566697
    assert str(row.event_date) == "2022-11-08"
    assert row.ingest_timestamp == ingest
    assert row.event_server_timestamp_offset == 5_000
    assert row.event_bundle_sequence_id == 7
    assert row.platform == "Android"
    assert row.project_id == "proj"
    assert row.app_info == Row(app_id="notepad", id="com.notepad.app", install_source=None, version="1.0")
    assert row.device.mobile_brand_name == "HUAWEI"
    assert row.device.mobile_model_name == "TAS-AN00"
    assert row.device.manufacturer == "HUAWEI"
    assert row.device.operating_system == "Android"
    assert row.device.operating_system_version == "10"
    assert (row.device.screen_width, row.device.screen_height) == (1080, 2259)
    assert row.device.time_zone_offset_seconds == 28800
    assert row.device.vendor_id == "f24bec657ea8eff7"
    assert row.geo.locale == "zh_CN_#Hans"
    assert row.user_pseudo_id == "c84ad28d-16a8-4af4-a331-f34cdc7a7a18"
    assert row.user_id == "312121"
    assert row.user_first_touch_timestamp == 1667877267895
    params = {p.key: p.value for p in row.event_params}
    assert params["Channel"] == value(string="SMS")
    assert params["Successful"] == value(string="true")
    assert params["Price"] == value(double=120.1)
    assert params["ProcessDuration"] == value(integer=791)
    assert params["_session_id"] == value(string="dc7a7a18-20221108-031926703")
    assert [p.key for p in row.event_params] == sorted(params)
    assert [(d.key, d.value) for d in row.event_dimensions] == [
        ("sdk_name", value(string="aws-solution-clickstream-sdk")),
        ("sdk_version", value(string="0.2.0")),
    ]
    assert [(p.key, p.value.string_value, p.value.set_timestamp_micros) for p in row.user_properties] == [
        ("_user_name", "carl", 1667877566697000)
    ]


def test_ios_sample_payload_plain_json(raw_frame):
    sample = json.loads((SDK_SAMPLES / "ios_event.json").read_text())
    ingest = sample["timestamp"] + 5_000
    row = transform(raw_frame, [raw_record(json.dumps([sample]), app_id="Shopping", ingest_time=ingest)]).collect()[0]
    assert row.user_id is None
    assert row.device.advertising_id == ""
    assert row.device.mobile_model_name == "iPhone 14 Pro"
    assert {p.key: p.value for p in row.event_params}["product_id"] == value(integer=1)
    assert sorted(p.key for p in row.user_properties) == ["_user_city", "_user_name"]


def test_values_are_typed_by_their_json_type(raw_frame):
    attributes = {
        "int": 3,
        "float": 1.5,
        "whole_float": 2.0,
        "str_number": "42",
        "bool": False,
        "obj": {"a": [1, 2]},
        "arr": ["x", 1],
        "null": None,
        "huge": 123456789012345678901234,
        "long_text": "x" * 3000,
    }
    row = transform(raw_frame, [raw_record(json.dumps([event(attributes=attributes)]))]).collect()[0]
    params = {p.key: p.value for p in row.event_params}
    assert params["int"] == value(integer=3)
    assert params["float"] == value(double=1.5)
    assert params["whole_float"] == value(double=2.0)
    assert params["str_number"] == value(string="42")
    assert params["bool"] == value(string="false")
    assert params["obj"] == value(string='{"a":[1,2]}')
    assert params["arr"] == value(string='["x",1]')
    assert params["null"] == value()
    assert params["huge"] == value(double=1.2345678901234568e23)
    assert params["long_text"].string_value == "x" * 2048


def test_a_field_of_the_wrong_type_nulls_only_that_field(raw_frame):
    bad = event(attributes={"ok": 1}, screen_width="wide", zone_offset={"nested": True})
    row = transform(raw_frame, [raw_record(json.dumps([bad]))]).collect()[0]
    assert row.device.screen_width is None
    assert row.device.time_zone_offset_seconds is None
    assert [p.key for p in row.event_params] == ["ok"]


def test_traffic_source_channel_and_privacy_leave_the_params(raw_frame):
    attributes = {
        "_traffic_source_source": "google",
        "_traffic_source_medium": "cpc",
        "_traffic_source_campaign": "black_friday",
        "_traffic_source_clid": "abc",
        "_channel": "play_store",
        "_privacy_info_ads_storage": "granted",
        "kept": 1,
    }
    row = transform(raw_frame, [raw_record(json.dumps([event(attributes=attributes)]))]).collect()[0]
    assert row.traffic_source == Row(medium="cpc", name="black_friday", source="google")
    assert row.app_info.install_source == "play_store"
    assert [p.key for p in row.event_params] == ["_traffic_source_clid", "kept"]
    assert [(p.key, p.value.string_value) for p in row.privacy_info] == [("_privacy_info_ads_storage", "granted")]


def test_the_sdk_name_and_version_are_the_event_dimensions(raw_frame):
    events = [
        event("both", sdk_version="0.12.1", sdk_name="aws-solution-clickstream-sdk"),
        event("name_only", sdk_name="aws-solution-clickstream-sdk", sdk_version=None),
        event("version_only", sdk_version="0.12.1"),
        event("number", sdk_name="custom", sdk_version=2),
        event("object", sdk_version={"major": 1}),
        event("neither"),
    ]
    rows = {row.event_id: row.event_dimensions for row in transform(raw_frame, [raw_record(json.dumps(events))]).collect()}
    name = ("sdk_name", value(string="aws-solution-clickstream-sdk"))
    # Fixed key order whatever the client's; a key absent or null is left out; other JSON types
    # are typed as every key/value column is (DATA_CONTRACT §4).
    assert [(d.key, d.value) for d in rows["both"]] == [name, ("sdk_version", value(string="0.12.1"))]
    assert [(d.key, d.value) for d in rows["name_only"]] == [name]
    assert [(d.key, d.value) for d in rows["version_only"]] == [("sdk_version", value(string="0.12.1"))]
    assert [(d.key, d.value) for d in rows["number"]] == [("sdk_name", value(string="custom")), ("sdk_version", value(integer=2))]
    assert [(d.key, d.value) for d in rows["object"]] == [("sdk_version", value(string='{"major":1}'))]
    assert rows["neither"] == []


def test_traffic_source_name_wins_over_campaign(raw_frame):
    attributes = {"_traffic_source_name": "named", "_traffic_source_campaign": "campaign"}
    row = transform(raw_frame, [raw_record(json.dumps([event(attributes=attributes)]))]).collect()[0]
    assert row.traffic_source.name == "named"


def test_user_ltv_and_reserved_user_fields(raw_frame):
    user = {
        "_user_id": {"value": 99, "set_timestamp": 1},
        "_user_ltv_revenue": {"value": 12.5, "set_timestamp": 1},
        "_user_ltv_currency": {"value": "EUR", "set_timestamp": 1},
        "level": {"value": 3, "set_timestamp": 2},
    }
    row = transform(raw_frame, [raw_record(json.dumps([event(user=user)]))]).collect()[0]
    assert row.user_id == "99"
    assert row.user_ltv == Row(revenue=12.5, currency="EUR")
    assert [(p.key, p.value.int_value, p.value.set_timestamp_micros) for p in row.user_properties] == [("level", 3, 2000)]


def test_items(raw_frame):
    items = [{"id": "p1", "name": "Shoe", "price": 10, "quantity": 2, "currency": "USD", "category": "shoes", "custom": 1}]
    row = transform(raw_frame, [raw_record(json.dumps([event(items=items)]))]).collect()[0]
    (item,) = row.items
    assert (item.id, item.name, item.price, item.quantity, item.currency, item.category) == ("p1", "Shoe", 10.0, 2, "USD", "shoes")


def test_missing_bundle_sequence_id_is_zero(raw_frame):
    row = transform(raw_frame, [raw_record(json.dumps([event()]), uri="/collect?appId=shop_android")]).collect()[0]
    assert row.event_bundle_sequence_id == 0


def test_quarantine_reasons(raw_frame):
    records = [
        raw_record("bm90IGd6aXA=", compression="gzip", rid="bad_gzip"),
        raw_record("%%%not base64", compression="gzip", rid="bad_base64"),
        raw_record('{"not": "an array"}', rid="object"),
        raw_record("[1, 2", rid="broken_json"),
        raw_record(json.dumps([{"event_id": "x", "app_id": "shop_android"}, event("ok")]), rid="mixed"),
        raw_record(json.dumps([event("other", app_id="unknown_app")]), rid="unknown"),
    ]
    cleaned = clean(raw_frame(records), APPS)
    quarantine = cleaned.quarantine.select("reason", "rid", "app_id")
    expected = [
        Row(reason="undecodable", rid="bad_gzip", app_id="shop_android"),
        Row(reason="undecodable", rid="bad_base64", app_id="shop_android"),
        Row(reason="not_an_array", rid="object", app_id="shop_android"),
        Row(reason="not_an_array", rid="broken_json", app_id="shop_android"),
        Row(reason="missing_required_field", rid="mixed", app_id="shop_android"),
        Row(reason="unknown_app", rid="unknown", app_id="unknown_app"),
    ]
    assertDataFrameEqual(quarantine, expected)
    assert next(r.raw for r in cleaned.quarantine.where("rid = 'bad_gzip'").collect()).startswith('{"date"')
    assert cleaned.events.count() == 1
