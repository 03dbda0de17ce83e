"""CORS for the web SDK: matching origins are echoed with credentials, others get nothing."""

from __future__ import annotations

import pytest

from ingestion.cors import CorsPolicy

PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}


@pytest.mark.parametrize(
    "pattern, origin, allowed",
    [
        ("http://localhost:*", "http://localhost:3000", True),
        ("http://localhost:*", "http://localhost", True),
        ("http://localhost:*", "https://localhost:3000", False),
        ("http://localhost:*", "http://localhost.evil.com:3000", False),
        ("*.example.com", "https://shop.example.com", True),
        ("*.example.com", "http://a.b.example.com", True),
        ("*.example.com", "https://example.com", False),
        ("*.example.com", "https://shop.example.com.evil.com", False),
        ("*.example.com", "https://evilexample.com", False),
        ("https://*.example.com", "http://shop.example.com", False),
        ("https://shop.example.com", "https://shop.example.com", True),
        ("https://shop.example.com", "https://SHOP.example.com", True),
        ("https://shop.example.com", "https://shop.example.com:8443", False),
        ("https://shop.example.com:8443", "https://shop.example.com:8443", True),
        ("https://shop.example.com/", "https://shop.example.com", True),
        ("*", "https://anything.test", True),
        ("*", "null", False),
        ("http://[::1]:*", "http://[::1]:8080", True),
    ],
)
def test_origin_patterns(pattern, origin, allowed):
    assert CorsPolicy([pattern], max_age_seconds=60).allows(origin) is allowed


def test_no_patterns_allow_nothing():
    assert not CorsPolicy([], max_age_seconds=60).allows("http://localhost:3000")


def test_preflight_from_a_matching_origin(client, sink):
    response = client.options("/collect?appId=shop_web", headers={"Origin": "http://localhost:5173", **PREFLIGHT})

    assert response.status_code == 204
    assert response.data == b""
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert set(response.headers["Access-Control-Allow-Methods"].replace(" ", "").split(",")) == {"POST", "OPTIONS"}
    assert response.headers["Access-Control-Allow-Headers"] == "content-type"
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in response.headers["Vary"]
    assert sink.records == []


def test_preflight_echoes_the_requested_headers(client):
    response = client.options(
        "/collect",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, X-Custom-Header, bad header",
        },
    )

    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type, X-Custom-Header"


def test_preflight_from_another_origin_gets_no_cors_headers(client, sink):
    response = client.options("/collect?appId=shop_web", headers={"Origin": "https://evil.test", **PREFLIGHT})

    assert response.status_code == 204
    assert not any(name.startswith("Access-Control-") for name in response.headers.keys())
    assert sink.records == []


def test_preflight_without_origin_is_204_without_cors_headers(client):
    response = client.options("/collect")

    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response.headers


def test_wildcard_subdomains_from_the_settings(make_app):
    client = make_app(cors_origins=["*.example.com"]).test_client()

    allowed = client.options("/collect", headers={"Origin": "https://m.shop.example.com", **PREFLIGHT})
    refused = client.options("/collect", headers={"Origin": "https://example.org", **PREFLIGHT})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://m.shop.example.com"
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_a_credentialed_post_gets_its_origin_back_never_a_star(make_app, sink):
    client = make_app(cors_origins=["*"]).test_client()

    response = client.post("/collect?appId=shop_web", json=[{"event_type": "x"}], headers={"Origin": "https://shop.test"})

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.test"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Methods" not in response.headers  # preflight-only
    assert len(sink.records) == 1


def test_errors_carry_cors_headers_so_the_browser_can_read_them(client):
    response = client.post("/collect?appId=unknown", json=[{}], headers={"Origin": "http://localhost:3000"})

    assert response.status_code == 403
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_probes_get_no_cors_headers(client):
    response = client.get("/ping", headers={"Origin": "http://localhost:3000"})

    assert "Access-Control-Allow-Origin" not in response.headers
