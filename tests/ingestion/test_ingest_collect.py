"""Accepted requests: what the collect endpoint answers and what it stores (DATA_CONTRACT §1, §3)."""

from __future__ import annotations

import base64
import gzip
import json
import re
from datetime import datetime

import pytest
from ingest_helpers import base64_gzip, decode_data

RAW_RECORD_KEYS = {
    "date",
    "data",
    "ip",
    "ua",
    "uri",
    "rid",
    "method",
    "path",
    "source_type",
    "appId",
    "platform",
    "compression",
    "ingest_time",
    "server_ingest_time",
    "client_timestamp",
    "timestamp",
}
WEB_EVENT = {"event_type": "_page_view", "event_id": "e-1", "app_id": "shop_web", "timestamp": 1700000000000}


def test_plain_json_array_is_stored_exactly_as_received(client, sink):
    body = '[ {"event_type": "_page_view", "event_id": "e-1"} ]'  # spacing kept, not re-serialized

    response = client.post(
        "/collect?appId=shop_web&platform=Web&event_bundle_sequence_id=7&upload_timestamp=1700000000123&hashCode=abcd1234",
        data=body,
        content_type="application/json",
        headers={"User-Agent": "Mozilla/5.0 test"},
    )

    assert response.status_code == 200
    assert response.data == b""
    [record] = sink.records
    assert set(record) == RAW_RECORD_KEYS
    assert record["data"] == body
    assert record["compression"] is None
    assert record["appId"] == "shop_web"
    assert record["platform"] == "Web"
    assert record["client_timestamp"] == "1700000000123"
    assert (
        record["uri"] == "/collect?appId=shop_web&platform=Web&event_bundle_sequence_id=7&upload_timestamp=1700000000123&hashCode=abcd1234"
    )
    assert record["path"] == "/collect"
    assert record["method"] == "POST"
    assert record["source_type"] == "http_server"
    assert record["ua"] == "Mozilla/5.0 test"
    assert record["ip"] == "127.0.0.1"


def test_times_are_one_arrival_instant_in_milliseconds(client, sink):
    client.post("/collect?appId=shop_web", json=[WEB_EVENT])

    [record] = sink.records
    assert isinstance(record["ingest_time"], int)
    assert record["ingest_time"] == record["server_ingest_time"] == sink.arrivals[0]
    assert record["ingest_time"] > 1_600_000_000_000  # milliseconds, not seconds
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
    utc = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
    assert int(utc.timestamp() * 1000) == record["ingest_time"]
    server_time = datetime.fromisoformat(record["date"])
    assert server_time.tzinfo is not None
    assert int(server_time.timestamp()) == record["ingest_time"] // 1000


def test_absent_query_values_are_null(client, sink):
    client.post("/collect?appId=shop_web", json=[WEB_EVENT])

    [record] = sink.records
    assert record["platform"] is None
    assert record["compression"] is None
    assert record["client_timestamp"] is None
    assert record["ua"] is None or record["ua"].startswith("Werkzeug")
    assert record["uri"] == "/collect?appId=shop_web"


def test_uri_keeps_the_query_string_as_sent(client, sink):
    client.post("/collect?appId=shop_web&platform=W%65b&x=a+b", json=[WEB_EVENT])

    [record] = sink.records
    assert record["uri"] == "/collect?appId=shop_web&platform=W%65b&x=a+b"
    assert record["platform"] == "Web"


def test_unencoded_utf8_in_the_query_string_is_kept_in_the_uri(client, sink):
    # WSGI carries the raw query bytes as a latin-1 string.
    raw_query = "appId=shop_web&note=été".encode().decode("latin-1")

    client.post("/collect", environ_overrides={"QUERY_STRING": raw_query}, json=[WEB_EVENT])

    assert sink.records[0]["uri"] == "/collect?appId=shop_web&note=été"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-8"])
def test_the_content_type_does_not_matter(client, sink, content_type):
    body = json.dumps([WEB_EVENT])

    response = client.post("/collect?appId=shop_web", data=body, content_type=content_type)

    assert response.status_code == 200
    assert sink.records[0]["data"] == body


def test_ip_is_the_raw_forwarded_for_value(client, sink):
    client.post(
        "/collect?appId=shop_web",
        json=[WEB_EVENT],
        headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.2"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )

    assert sink.records[0]["ip"] == "203.0.113.7, 10.0.0.2"


def test_ip_without_forwarded_for_is_the_peer_address(client, sink):
    client.post("/collect?appId=shop_web", json=[WEB_EVENT], environ_base={"REMOTE_ADDR": "198.51.100.4"})

    assert sink.records[0]["ip"] == "198.51.100.4"


def test_every_request_gets_its_own_request_id(client, sink):
    for _ in range(3):
        client.post("/collect?appId=shop_web", json=[WEB_EVENT])

    rids = [record["rid"] for record in sink.records]
    assert len(set(rids)) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in rids)


def test_android_base64_gzip_body_is_stored_as_its_text(client, sink, android_events):
    body = base64_gzip(android_events)

    response = client.post("/collect?appId=shop_android&platform=Android&compression=gzip", data=body)

    assert response.status_code == 200
    [record] = sink.records
    assert record["data"] == body
    assert record["compression"] == "gzip"
    assert decode_data(record) == android_events


def test_ios_base64_gzip_body_is_stored_as_its_text(client, sink, ios_events):
    body = base64_gzip(ios_events)

    response = client.post("/collect?appId=shop_ios&platform=iOS&compression=gzip", data=body)

    assert response.status_code == 200
    assert sink.records[0]["data"] == body
    assert decode_data(sink.records[0]) == ios_events


def test_base64_wrapped_in_lines_is_accepted_and_kept_verbatim(client, sink, android_events):
    text = base64_gzip(android_events)
    body = "\n".join(text[i : i + 76] for i in range(0, len(text), 76)) + "\n"

    response = client.post("/collect?appId=shop_android&compression=gzip", data=body)

    assert response.status_code == 200
    assert sink.records[0]["data"] == body


def test_binary_gzip_with_content_encoding_is_stored_as_base64(client, sink, android_events):
    body = gzip.compress(json.dumps(android_events).encode())

    response = client.post(
        "/collect?appId=shop_android&platform=Android",
        data=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )

    assert response.status_code == 200
    [record] = sink.records
    assert record["compression"] == "gzip"
    assert base64.b64decode(record["data"]) == body
    assert decode_data(record) == android_events


def test_transport_gzip_around_sdk_base64_gzip_stores_the_sdk_text(client, sink, ios_events):
    text = base64_gzip(ios_events)

    response = client.post(
        "/collect?appId=shop_ios&compression=gzip", data=gzip.compress(text.encode()), headers={"Content-Encoding": "gzip"}
    )

    assert response.status_code == 200
    assert sink.records[0]["data"] == text
    assert decode_data(sink.records[0]) == ios_events


def test_concatenated_gzip_members_are_one_body(client, sink):
    events = json.dumps([WEB_EVENT, WEB_EVENT]).encode()
    body = gzip.compress(events[:10]) + gzip.compress(events[10:])

    response = client.post("/collect?appId=shop_web", data=body, headers={"Content-Encoding": "gzip"})

    assert response.status_code == 200
    assert decode_data(sink.records[0]) == [WEB_EVENT, WEB_EVENT]


def test_unicode_events_are_stored_unchanged(client, sink):
    body = json.dumps([{"event_type": "購入", "attributes": {"note": "naïve 🚀", "rtl": "שלום"}}], ensure_ascii=False)

    response = client.post("/collect?appId=shop_web", data=body.encode("utf-8"), content_type="application/json")

    assert response.status_code == 200
    assert sink.records[0]["data"] == body


def test_an_empty_array_is_a_valid_request(client, sink):
    response = client.post("/collect?appId=shop_web", data="[]")

    assert response.status_code == 200
    assert sink.records[0]["data"] == "[]"


def test_the_request_path_comes_from_the_configuration(make_app, sink):
    client = make_app(path="/api/v1/events").test_client()

    assert client.post("/api/v1/events?appId=shop_web", json=[WEB_EVENT]).status_code == 200
    assert client.post("/collect?appId=shop_web", json=[WEB_EVENT]).status_code == 404
    assert sink.records[0]["path"] == "/api/v1/events"
