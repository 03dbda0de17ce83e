"""The client address behind `trusted_proxies` proxies (clickstream_contract.client_ip): the rule
tables, with the socket peer (ingestion's access log) and without it (the processing job reading
a raw record's `ip`; the IP enrichment applies this function and is tested for that only)."""

from __future__ import annotations

import pytest

from clickstream_contract.client_ip import client_ip, parse_address, recorded_client_ip

PEER = "10.0.0.1"


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "expected"),
    [
        # No proxies trusted: the header is whatever the client wrote.
        (0, "1.1.1.1", PEER),
        (0, None, PEER),
        # One proxy: the entry it appended, the last one.
        (1, "1.1.1.1", "1.1.1.1"),
        (1, "6.6.6.6, 1.1.1.1", "1.1.1.1"),  # 6.6.6.6 forged by the client
        (1, "6.6.6.6,1.1.1.1", "1.1.1.1"),
        # Two proxies: the outer one appended the client, the inner one the outer proxy.
        (2, "1.1.1.1, 10.0.0.2", "1.1.1.1"),
        (2, "6.6.6.6, 7.7.7.7, 1.1.1.1, 10.0.0.2", "1.1.1.1"),
        (3, "1.1.1.1, 10.0.0.3, 10.0.0.2", "1.1.1.1"),
        # Shorter than configured: the leftmost entry.
        (2, "1.1.1.1", "1.1.1.1"),
        (5, "1.1.1.1, 10.0.0.2", "1.1.1.1"),
        # No header: the proxy's own request (a health check).
        (1, None, PEER),
        (1, "", PEER),
        # Not an address: the peer, the one address known to be real.
        (1, "unknown", PEER),
        (1, "_hidden", PEER),
        (1, "1.1.1.1, ", PEER),
        (1, "1.1.1.1,,", PEER),
        (1, "<script>", PEER),
        (2, "garbage, 10.0.0.2", PEER),
        (2, "1.1.1.1, garbage", "1.1.1.1"),  # the client's entry is fine; the proxy's is not ours to use
        (1, "999.1.1.1", PEER),
        # Ports, brackets, quotes, spaces, case.
        (1, " 1.1.1.1 ", "1.1.1.1"),
        (1, "1.1.1.1:5555", "1.1.1.1"),
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (1, "[2001:db8::1]", "2001:db8::1"),
        (1, "2001:DB8:0:0::1", "2001:db8::1"),
        (1, '"[2001:db8::1]:443"', "2001:db8::1"),
        (1, "[2001:db8::1", PEER),
        (1, "::ffff:1.1.1.1", "1.1.1.1"),
    ],
)
def test_rule_table(trusted, forwarded_for, expected):
    assert client_ip(forwarded_for, PEER, trusted) == expected


@pytest.mark.parametrize(
    ("trusted", "recorded", "expected"),
    [
        # Proxies trusted: the rule above, without a peer to fall back to.
        (1, "6.6.6.6, 1.1.1.1", "1.1.1.1"),  # 6.6.6.6 forged by the client
        (2, "6.6.6.6, 1.1.1.1, 10.0.0.2", "1.1.1.1"),
        (1, "1.1.1.1", "1.1.1.1"),  # a one-entry header, or the peer of a request without one
        (3, "1.1.1.1, 10.0.0.2", "1.1.1.1"),  # shorter than configured: the leftmost entry
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (1, "1.1.1.1, unknown", None),
        (1, "1.1.1.1, ", None),
        (1, "", None),
        (1, None, None),
        # No proxies trusted: the peer is not recorded when a header was; the first entry stands in.
        (0, "1.1.1.1, 10.0.0.2", "1.1.1.1"),
        (0, " 1.1.1.1:5555 ,10.0.0.2", "1.1.1.1"),
        (0, "::ffff:1.1.1.1", "1.1.1.1"),
        (0, "unknown, 1.1.1.1", None),
        (0, "", None),
        (0, None, None),
    ],
)
def test_rule_table_of_a_recorded_address(trusted, recorded, expected):
    assert recorded_client_ip(recorded, trusted) == expected


def test_a_huge_forged_header_is_cheap_and_harmless():
    forged = ", ".join(f"6.6.{n // 256}.{n % 256}" for n in range(20_000))

    assert client_ip(f"{forged}, 1.1.1.1", PEER, 1) == "1.1.1.1"


def test_without_a_peer_and_without_a_usable_header_there_is_no_address():
    assert client_ip("garbage", None, 1) is None
    assert client_ip(None, None, 0) is None


@pytest.mark.parametrize(("entry", "expected"), [("1.2.3.4", "1.2.3.4"), ("fe80::1%eth0", "fe80::1%eth0"), ("", None), (":", None)])
def test_parse_address(entry, expected):
    assert parse_address(entry) == expected


def test_the_raw_record_keeps_the_whole_header_and_the_access_log_gets_the_client(make_app, sink, caplog):
    client = make_app(trusted_proxies=1).test_client()

    with caplog.at_level("INFO", logger="clickstream.ingestion.access"):
        response = client.post(
            "/collect?appId=shop_web",
            json=[{"event_id": "e-1"}],
            headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.7"},
            environ_base={"REMOTE_ADDR": PEER},
        )

    assert response.status_code == 200
    assert sink.records[0]["ip"] == "6.6.6.6, 203.0.113.7"
    [line] = [record.getMessage() for record in caplog.records if record.name == "clickstream.ingestion.access"]
    assert '"client_ip":"203.0.113.7"' in line
