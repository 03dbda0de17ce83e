"""IP anonymisation (`pipeline.ingestion.ip_anonymization: truncate`): the truncation rule with
hand-computed values and its properties, then the real server: no full address reaches the
sealed raw files or the server's output (access log and error log), for IPv4, IPv6, IPv4-mapped
clients, proxy chains and garbage headers."""

from __future__ import annotations

import gzip
import ipaddress
import json

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from raw_http import exchange
from test_ingest_server import Server

from clickstream_contract.client_ip import recorded_client_ip
from clickstream_contract.ip_anonymization import anonymize_ip, truncate_ip
from clickstream_project.config import ConfigError
from ingestion import metrics
from ingestion.metrics import MULTIPROC_ENV
from ingestion.settings import layered_config
from tests.conftest import make_config

EVENTS = [{"event_type": "_page_view", "event_id": "e-1"}]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.9", "203.0.113.0"),
        ("203.0.113.255", "203.0.113.0"),
        ("10.1.2.3", "10.1.2.0"),
        ("203.0.113.0", "203.0.113.0"),
        # 48 bits kept = the first three groups of 16.
        ("2001:db8:1234:5678::1", "2001:db8:1234::"),
        ("2001:db8:1234:ffff:ffff:ffff:ffff:ffff", "2001:db8:1234::"),
        ("2001:0DB8:00AB:cdef:1:2:3:4", "2001:db8:ab::"),
        ("::1", "::"),
        # The third group is cut at its end, not inside: 0xabcd stays whole.
        ("2001:db8:abcd:1::", "2001:db8:abcd::"),
        # IPv4-mapped: an IPv4 client, truncated as one (48 bits of ::ffff:... would be "::").
        ("::ffff:203.0.113.9", "203.0.113.0"),
        ("::FFFF:cb00:7109", "203.0.113.0"),  # the same address, written in hex
        # The forms an X-Forwarded-For entry can take.
        (" 203.0.113.9:5555 ", "203.0.113.0"),
        ("[2001:db8:1234:5678::1]:443", "2001:db8:1234::"),
        ('"[2001:db8:1234:5678::1]"', "2001:db8:1234::"),
        ("fe80::1:2:3:4%eth0", "fe80::"),  # the zone names an interface of the client's machine: gone
        # No address: nothing to keep, never the text as it came.
        ("unknown", None),
        ("_hidden", None),
        ("203.0.113.999", None),
        ("203.0.113", None),
        ("2001:db8::1::2", None),
        ("<script>alert(1)</script>", None),
        ("203.0.113.9, 10.0.0.1", None),  # a whole header is not one address
        ("", None),
        (None, None),
    ],
)
def test_truncation_table(address, expected):
    assert truncate_ip(address) == expected


def test_none_keeps_the_address_as_it_came():
    assert anonymize_ip("203.0.113.9", "none") == "203.0.113.9"
    assert anonymize_ip("6.6.6.6, 203.0.113.9", "none") == "6.6.6.6, 203.0.113.9"
    assert anonymize_ip("203.0.113.9", "truncate") == "203.0.113.0"


IPV4 = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)
IPV6 = st.integers(min_value=0, max_value=2**128 - 1).map(ipaddress.IPv6Address)


@given(IPV4)
def test_ipv4_keeps_its_first_24_bits_and_zeroes_the_rest(address):
    truncated = ipaddress.ip_address(truncate_ip(str(address)))

    assert truncated.version == 4
    assert int(truncated) & 0xFF == 0
    assert int(truncated) >> 8 == int(address) >> 8
    assert truncate_ip(str(truncated)) == str(truncated)  # idempotent


@given(IPV6)
def test_ipv6_keeps_its_first_48_bits_and_zeroes_the_rest(address):
    truncated = ipaddress.ip_address(truncate_ip(str(address)))

    if address.ipv4_mapped is not None:
        assert truncated == ipaddress.IPv4Address(int(address.ipv4_mapped) & ~0xFF)
        return
    assert truncated.version == 6
    assert int(truncated) & (2**80 - 1) == 0
    assert int(truncated) >> 80 == int(address) >> 80
    assert truncate_ip(str(truncated)) == str(truncated)


@given(IPV4)
def test_an_ipv4_mapped_address_is_truncated_as_its_ipv4_address(address):
    assert truncate_ip(f"::ffff:{address}") == truncate_ip(str(address))


# The app (Flask test client, recording intake): the record's `ip` and the log's `client_ip`.


@pytest.fixture
def access_lines(caplog):
    caplog.set_level("INFO", logger="clickstream.ingestion.access")
    return lambda: [json.loads(r.getMessage()) for r in caplog.records if r.name == "clickstream.ingestion.access"]


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "peer", "expected"),
    [
        # No proxies trusted: the peer is the client; the header (the client's own text) is dropped.
        (0, "198.51.100.7, 192.0.2.44", "203.0.113.9", "203.0.113.0"),
        (0, None, "2001:db8:1234:5678::1", "2001:db8:1234::"),
        (0, None, "::ffff:203.0.113.9", "203.0.113.0"),
        # One proxy: its entry is the client; the forged one is not kept.
        (1, "198.51.100.7, 203.0.113.9", "10.0.0.1", "203.0.113.0"),
        (1, "[2001:db8:1234:5678::1]:443", "10.0.0.1", "2001:db8:1234::"),
        (1, "garbage", "10.0.0.1", "10.0.0.0"),  # not an address: the peer, as without anonymisation
        (1, None, "10.0.0.1", "10.0.0.0"),
        (2, "203.0.113.9, 10.0.0.2", "10.0.0.1", "203.0.113.0"),
    ],
)
def test_the_record_and_the_log_hold_the_truncated_client(make_app, sink, access_lines, trusted, forwarded_for, peer, expected):
    client = make_app(trusted_proxies=trusted, ip_anonymization="truncate").test_client()
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}

    response = client.post("/collect?appId=shop_web", json=EVENTS, headers=headers, environ_base={"REMOTE_ADDR": peer})

    assert response.status_code == 200
    assert sink.records[0]["ip"] == expected
    assert access_lines()[0]["client_ip"] == expected
    # What the job's IP enrichment then looks up, whatever trusted_proxies says.
    assert recorded_client_ip(expected, trusted) == expected


def unusable_addresses(client) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    [line] = [line for line in text.splitlines() if line.startswith("clickstream_ingest_unusable_client_addresses_total ")]
    return float(line.split()[1])


@pytest.fixture
def in_memory_metrics(monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    yield
    metrics.configure(False)


def test_a_peer_that_is_no_address_is_stored_as_null_and_counted(make_app, sink, access_lines, in_memory_metrics):
    # A server on a Unix socket: a proxy in front that sends no header leaves no address at all.
    client = make_app(trusted_proxies=1, ip_anonymization="truncate").test_client()
    before = unusable_addresses(client)

    client.post("/collect?appId=shop_web", json=EVENTS, environ_base={"REMOTE_ADDR": "unix:/run/ingest.sock"})
    client.post("/collect?appId=shop_web", json=EVENTS, headers={"X-Forwarded-For": "203.0.113.9"})

    assert [record["ip"] for record in sink.records] == [None, "203.0.113.0"]
    assert [line["client_ip"] for line in access_lines() if line["path"] == "/collect"] == [None, "203.0.113.0"]
    assert unusable_addresses(client) == before + 1


def test_without_anonymisation_the_record_keeps_the_header_as_before(make_app, sink):
    client = make_app(trusted_proxies=1).test_client()

    client.post("/collect?appId=shop_web", json=EVENTS, headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.7"})
    client.post("/collect?appId=shop_web", json=EVENTS, environ_base={"REMOTE_ADDR": "203.0.113.8"})

    assert [record["ip"] for record in sink.records] == ["6.6.6.6, 203.0.113.7", "203.0.113.8"]


@pytest.mark.parametrize("value", ["Truncate", "hash", "", 1, True, None, ["truncate"]])
def test_a_bad_value_in_the_file_names_the_field(tmp_path, value):
    with pytest.raises(ConfigError, match=r"pipeline\.ingestion\.ip_anonymization: Input should be 'none' or 'truncate'"):
        make_config(tmp_path, pipeline={"ingestion": {"ip_anonymization": value}})


def test_a_bad_value_in_the_environment_names_the_variable(tmp_path):
    config = make_config(tmp_path)

    with pytest.raises(ConfigError, match=r"CLICKSTREAM_INGEST_IP_ANONYMIZATION: Input should be 'none' or 'truncate'"):
        layered_config(config, environ={"CLICKSTREAM_INGEST_IP_ANONYMIZATION": "mask"})
    assert (
        layered_config(config, environ={"CLICKSTREAM_INGEST_IP_ANONYMIZATION": "truncate"}).pipeline.ingestion.ip_anonymization
        == "truncate"
    )


# The real server under gunicorn: two proxies trusted (the peer, 127.0.0.1, is the inner one).

# X-Forwarded-For as sent -> the address the record and the log must hold. Every address
# written here in full must appear nowhere in what the server wrote.
REQUESTS = [
    ("203.0.113.9, 10.20.30.40", "203.0.113.0"),
    ("198.51.100.77, 2001:db8:1234:5678::1, 10.20.30.41", "2001:db8:1234::"),  # 198.51.100.77 forged
    ("::ffff:192.0.2.55, 10.20.30.42", "192.0.2.0"),
    ("[2001:db8:abcd:1:2:3:4:5]:443, 10.20.30.43", "2001:db8:abcd::"),
    ("198.51.100.99", "198.51.100.0"),  # shorter than two hops: the leftmost entry
    ("garbage, 10.20.30.44", "127.0.0.0"),  # no address where the client should be: the peer
    ("<script>10.99.88.77</script>, 10.20.30.45", "127.0.0.0"),
    (None, "127.0.0.0"),
]
FULL_ADDRESSES = [
    "203.0.113.9", "10.20.30.4", "198.51.100.77", "2001:db8:1234:5678", "1234:5678::1", "192.0.2.55",
    "2001:db8:abcd:1:", "1:2:3:4:5", "198.51.100.99", "10.99.88.77",
]  # fmt: skip


@pytest.fixture(scope="module")
def anonymizing_server(tmp_path_factory):
    server = Server(
        tmp_path_factory.mktemp("ip_anonymization"),
        threads=4,
        pipeline={"ingestion": {"trusted_proxies": 2, "ip_anonymization": "truncate"}},
    )
    server.wait_until_ready()
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


def test_no_full_address_reaches_the_raw_files_or_the_logs(anonymizing_server):
    server = anonymizing_server
    for n, (forwarded_for, _) in enumerate(REQUESTS):
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        events = [{"event_type": "_page_view", "event_id": f"e-{n}", "app_id": "shop"}]
        response = requests.post(
            f"{server.url}/collect", params={"appId": "shop", "platform": "Web"}, json=events, headers=headers, timeout=30
        )
        assert response.status_code == 200, response.text
    # Refused by gunicorn's parser: the worker's error log names the peer.
    broken = b"POST /collect?appId=shop HTTP/1.1\r\nHost: ingest\r\nBad Header: x\r\nContent-Length: 2\r\n\r\n[]"
    assert exchange(server.url, broken).status == 400

    assert server.stop() == 0

    raw = b"".join(gzip.decompress(path.read_bytes()) for path in server.raw_root.glob("year=*/month=*/day=*/hour=*/*.gz"))
    records = sorted((json.loads(line) for line in raw.splitlines()), key=lambda record: json.loads(record["data"])[0]["event_id"])
    assert [record["ip"] for record in records] == [expected for _, expected in REQUESTS]
    output = server.log.read_bytes()
    access = [json.loads(line) for line in output.splitlines() if line.startswith(b"{")]
    assert sorted(line["client_ip"] for line in access if line["path"] == "/collect") == sorted(expected for _, expected in REQUESTS)
    assert b"invalid request from 127.0.0.0:" in output
    for written in (raw, output):
        for address in FULL_ADDRESSES:
            assert address.encode() not in written, address
        assert b"garbage" not in written and b"<script>" not in written
    assert b"127.0.0.1" not in raw
