"""The structured access log (ingestion.access_log): one JSON object per request."""

from __future__ import annotations

import io
import json
import logging

import pytest

from ingestion import access_log
from ingestion.access_log import ACCESS_LOGGER, UA_LIMIT, access_line

EVENTS = [{"event_type": "_page_view", "event_id": "e-1"}, {"event_type": "_click", "event_id": "e-2"}]


@pytest.fixture
def access_lines(caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)

    def lines() -> list[dict]:
        return [json.loads(record.getMessage()) for record in caplog.records if record.name == ACCESS_LOGGER]

    return lines


def test_a_stored_request_is_one_line_with_its_record_id(client, sink, access_lines):
    body = json.dumps(EVENTS)

    client.post(
        "/collect?appId=shop_web&platform=Web&hashCode=abcd1234&upload_timestamp=1700000000000&secret=hunter2",
        data=body,
        headers={"User-Agent": "Mozilla/5.0 test", "X-Forwarded-For": "203.0.113.7"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )

    [line] = access_lines()
    assert set(line) == {
        "time", "client_ip", "method", "path", "app_id", "platform", "status", "bytes_in", "bytes_out",
        "duration_ms", "events", "rid", "ua",
    }  # fmt: skip
    assert line["time"].endswith("Z")
    assert line["client_ip"] == "10.0.0.1"  # trusted_proxies is 0: the header is not believed
    assert (line["method"], line["path"], line["status"]) == ("POST", "/collect", 200)
    assert (line["app_id"], line["platform"]) == ("shop_web", "Web")
    assert line["bytes_in"] == len(body)
    assert line["bytes_out"] == 0
    assert line["events"] == 2
    assert line["rid"] == sink.records[0]["rid"]
    assert line["ua"] == "Mozilla/5.0 test"
    assert 0 <= line["duration_ms"] < 10_000
    assert "hunter2" not in json.dumps(line)  # the query string is not logged


def test_a_refused_request_has_no_record_id(client, access_lines):
    client.post("/collect?appId=nobody", json=EVENTS)
    client.post("/collect?appId=shop_web", data="[1, 2]")

    forbidden, bad = access_lines()
    assert forbidden["status"] == 403
    assert forbidden["bytes_out"] > 0
    assert "events" not in forbidden and "rid" not in forbidden
    assert bad["status"] == 400
    assert "events" not in bad and "rid" not in bad


def test_a_request_decoded_but_not_stored_has_events_and_no_record_id(client, sink, access_lines):
    sink.available = False

    client.post("/collect?appId=shop_web", json=EVENTS)

    [line] = access_lines()
    assert line["status"] == 503
    assert line["events"] == 2
    assert "rid" not in line


def test_every_request_is_logged_probes_included(client, access_lines):
    client.get("/health")
    client.options("/collect", headers={"Origin": "http://localhost:3000"})
    client.get("/nowhere?token=x")

    assert [(line["method"], line["path"], line["status"]) for line in access_lines()] == [
        ("GET", "/health", 200),
        ("OPTIONS", "/collect", 204),
        ("GET", "/nowhere", 404),
    ]


def test_the_client_ip_follows_trusted_proxies(make_app, access_lines):
    client = make_app(trusted_proxies=1).test_client()

    client.post("/collect?appId=shop_web", json=EVENTS, headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.7"})

    assert access_lines()[0]["client_ip"] == "203.0.113.7"


def test_attacker_controlled_text_is_cut(client, access_lines):
    client.post(f"/collect?appId={'a' * 5000}&platform={'p' * 5000}", json=EVENTS, headers={"User-Agent": "u" * 5000})
    client.get("/" + "x" * 5000)

    first, second = access_lines()
    assert len(first["ua"]) == UA_LIMIT
    assert len(first["app_id"]) == access_log.FIELD_LIMIT
    assert len(first["platform"]) == access_log.FIELD_LIMIT
    assert len(second["path"]) == access_log.PATH_LIMIT


def test_a_line_with_a_lone_surrogate_is_still_valid_json():
    line = access_line(
        client_ip="1.2.3.4", method="POST", path="/collect", app_id="\ud800", platform=None, status=400,
        bytes_in=0, bytes_out=0, seconds=0.001, events=None, rid=None, ua=None,
    )  # fmt: skip

    assert json.loads(line)["app_id"] == "\ud800"


def test_access_log_off_means_no_lines(make_app, access_lines):
    client = make_app(access_log=False).test_client()

    client.post("/collect?appId=shop_web", json=EVENTS)

    assert access_lines() == []


def test_access_log_without_metrics(make_app, access_lines):
    client = make_app(metrics=False).test_client()

    client.post("/collect?appId=shop_web", json=EVENTS)

    assert access_lines()[0]["status"] == 200


@pytest.fixture
def restore_access_logger():
    logger = logging.getLogger(ACCESS_LOGGER)
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield logger
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def test_under_the_server_lines_go_alone_to_the_stream(make_app, restore_access_logger, caplog):
    stream = io.StringIO()
    access_log.send_to_stream(stream)
    client = make_app().test_client()

    client.post("/collect?appId=shop_web", json=EVENTS)
    client.get("/health")

    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["path"] for line in lines] == ["/collect", "/health"]
    assert not [record for record in caplog.records if record.name == ACCESS_LOGGER]  # not through root


def test_a_handler_added_beside_the_servers_stream_gets_the_lines_too(make_app, restore_access_logger):
    # send_to_stream's lines skip the logging machinery; any other handler still sees them.
    stream, other = io.StringIO(), io.StringIO()
    access_log.send_to_stream(stream)
    restore_access_logger.addHandler(logging.StreamHandler(other))
    client = make_app().test_client()

    client.post("/collect?appId=shop_web", json=EVENTS)

    assert [json.loads(line)["path"] for line in stream.getvalue().splitlines()] == ["/collect"]
    assert [json.loads(line)["path"] for line in other.getvalue().splitlines()] == ["/collect"]
