"""Fuzzing the real server: 10,000 malformed requests, well-formed ones interleaved.

Gunicorn with two workers (the server of test_ingest_server.py) takes requests generated
deterministically from one seed: broken base64 and gzip, bodies that are not arrays of objects,
bodies over the limit and gzip bombs, invalid UTF-8, unknown apps, bad parameters and headers,
wrong methods and paths, random bytes. The properties checked:
- no 5xx, ever; each malformed request gets the 4xx DATA_CONTRACT §1 documents for it, with a
  JSON error body;
- the server is alive afterwards;
- after a graceful stop, the stored events are exactly those of the requests answered 200;
- /metrics, answered by one worker, counts the requests of both, and the access log has a line
  for every request.
"""

from __future__ import annotations

import base64
import collections
import gzip
import json
import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from test_ingest_server import Server

SEED = 20240501
MALFORMED = 10_000
WELL_FORMED_EVERY = 50
MAX_BODY_BYTES = 64 * 1024  # smaller than the default, so that oversized bodies are cheap to send
CLIENT_THREADS = 12


@dataclass
class Case:
    kind: str
    method: str
    query: str
    body: bytes | Callable[[], Iterator[bytes]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    expected: frozenset[int] = frozenset({400})
    # Stored exactly when the answer is 200.
    event_ids: tuple[str, ...] = ()
    # False for what gunicorn refuses before the app sees it (no JSON body, no metrics).
    reaches_app: bool = True
    path: str = "/collect"

    @property
    def malformed(self) -> bool:
        return min(self.expected) >= 400


def events_body(event_ids: tuple[str, ...], **extra: object) -> bytes:
    events = [
        {"event_type": "_screen_view", "event_id": event_id, "app_id": "shop", "timestamp": 1700000000000, **extra}
        for event_id in event_ids
    ]
    return json.dumps(events).encode()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)  # no timestamp: the same seed gives the same bytes


def b64gzip(data: bytes) -> bytes:
    return base64.b64encode(gz(data))


# Well-formed requests, in the three shapes the SDKs send ------------------------------------


def well_formed(rng: random.Random, n: int) -> Case:
    ids = tuple(f"good-{n}-{k}" for k in range(rng.randint(1, 3)))
    body = events_body(ids)
    shape = (n // WELL_FORMED_EVERY) % 4
    if shape == 0:
        return Case("good_json", "POST", "appId=shop&platform=Web", body, {"Content-Type": "application/json"}, frozenset({200}), ids)
    if shape == 1:
        return Case("good_sdk_gzip", "POST", "appId=shop&platform=Android&compression=gzip", b64gzip(body), {}, frozenset({200}), ids)
    if shape == 2:
        return Case("good_binary_gzip", "POST", "appId=shop&platform=iOS", gz(body), {"Content-Encoding": "gzip"}, frozenset({200}), ids)
    return Case(
        "good_transport_gzip", "POST", "appId=shop&compression=gzip", gz(b64gzip(body)), {"Content-Encoding": "gzip"}, frozenset({200}), ids
    )


# Malformed requests ------------------------------------------------------------------------


def bad_base64(rng: random.Random, n: int) -> Case:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+/=!@#$%^&*()_-~`"
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300)))
    if rng.random() < 0.5:
        text = b64gzip(events_body((f"bad-{n}",))).decode()[: rng.randint(1, 40)] + "!" + text
    return Case("bad_base64", "POST", "appId=shop&compression=gzip", text.encode())


def non_ascii_base64(rng: random.Random, n: int) -> Case:
    body = bytearray(b64gzip(events_body((f"bad-{n}",))))
    body[rng.randrange(len(body))] = rng.randint(0x80, 0xFF)
    return Case("non_ascii_base64", "POST", "appId=shop&compression=gzip", bytes(body))


def bad_gzip(rng: random.Random, n: int) -> Case:
    inner = rng.randbytes(rng.randint(1, 200))
    if rng.random() < 0.5:
        inner = b"\x1f\x8b" + inner  # the magic, then garbage
    if rng.random() < 0.5:
        return Case("bad_gzip", "POST", "appId=shop&compression=gzip", base64.b64encode(inner))
    return Case("bad_gzip_binary", "POST", "appId=shop", inner, {"Content-Encoding": "gzip"})


def truncated_gzip(rng: random.Random, n: int) -> Case:
    compressed = gz(events_body(tuple(f"bad-{n}-{k}" for k in range(rng.randint(1, 20)))))
    cut = compressed[: rng.randint(1, len(compressed) - 1)]
    if rng.random() < 0.5:
        return Case("truncated_gzip", "POST", "appId=shop&compression=gzip", base64.b64encode(cut))
    return Case("truncated_gzip_binary", "POST", "appId=shop", cut, {"Content-Encoding": "gzip"})


def not_an_array(rng: random.Random, n: int) -> Case:
    value = rng.choice([{"event_id": f"bad-{n}", "event_type": "_page_view"}, "events", 42, 3.5, None, True, {"events": []}])
    body = json.dumps(value).encode()
    if rng.random() < 0.3:
        return Case("not_an_array_gzip", "POST", "appId=shop&compression=gzip", b64gzip(body))
    return Case("not_an_array", "POST", "appId=shop", body)


def array_of_non_objects(rng: random.Random, n: int) -> Case:
    elements: list[object] = [{"event_id": f"bad-{n}-{k}"} for k in range(rng.randint(0, 3))]
    elements.insert(rng.randint(0, len(elements)), rng.choice([1, "x", None, True, [], [{"event_id": f"bad-{n}"}], 2.5]))
    return Case("array_of_non_objects", "POST", "appId=shop", json.dumps(elements).encode())


def invalid_json(rng: random.Random, n: int) -> Case:
    body = rng.choice(
        [
            b"[", b"]", b"[{]", b"[{'event_id': 'x'}]", b'[{"a": 1},]', b'[{"a": 1}', b"[NaN]", b'[{"v": Infinity}]',
            b'[{"v": -Infinity}]', b"NaN", b'[{"a": "unterminated}]', b'[{"a": "\x01 control"}]', b'[{"a": "tab\there"}]',
            b'[{"a": 01}]', b'[{"a": .5}]', b'[{"a": +1}]', b'[{"a": "\\x41"}]', b'[{"a": "\\u12"}]', b"[{}] [{}]",
            b'[{"a": tru}]', b"\x00[{}]", b"[{}]\x00",
        ]
    )  # fmt: skip
    return Case("invalid_json", "POST", "appId=shop", body)


def deeply_nested(rng: random.Random, n: int) -> Case:
    depth = rng.randint(5_000, 20_000)
    return Case("deeply_nested", "POST", "appId=shop", b"[" * depth + b"]" * depth)


def huge_body(rng: random.Random, n: int) -> Case:
    size = rng.randint(MAX_BODY_BYTES + 1, MAX_BODY_BYTES * 3)
    body = b"[" + b" " * (size - 2) + b"]"
    if rng.random() < 0.3:
        chunks = [body[i : i + 8192] for i in range(0, len(body), 8192)]
        return Case("huge_body_chunked", "POST", "appId=shop", lambda: iter(chunks), expected=frozenset({413}))
    return Case("huge_body", "POST", "appId=shop", body, expected=frozenset({413}))


def enormous_body(rng: random.Random, n: int) -> Case:
    # Past what the server reads before its 413 (views.DRAIN_FACTOR): it closes the connection
    # afterwards, so the request says it will not reuse it either.
    body = b"[" + b" " * rng.randint(MAX_BODY_BYTES * 5, MAX_BODY_BYTES * 8) + b"]"
    return Case("enormous_body", "POST", "appId=shop", body, {"Connection": "close"}, expected=frozenset({413}))


def gzip_bomb(rng: random.Random, n: int) -> Case:
    # Inflates past 16 x the body limit; the decompressed limit is 1 x (max_decompressed_bytes).
    inflated = b"[" + b" " * (MAX_BODY_BYTES * 16 + rng.randint(1, 100_000)) + b"]"
    if rng.random() < 0.5:
        return Case("gzip_bomb", "POST", "appId=shop&compression=gzip", b64gzip(inflated), expected=frozenset({413}))
    return Case("gzip_bomb_binary", "POST", "appId=shop", gz(inflated), {"Content-Encoding": "gzip"}, expected=frozenset({413}))


def invalid_utf8(rng: random.Random, n: int) -> Case:
    bad = rng.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xf4\x90\x80\x80"])
    body = b'[{"event_id": "bad-%d", "v": "' % n + bad + b'"}]'
    if rng.random() < 0.3:
        return Case("invalid_utf8_binary_gzip", "POST", "appId=shop", gz(body), {"Content-Encoding": "gzip"})
    return Case("invalid_utf8", "POST", "appId=shop", body)


def odd_but_valid_unicode(rng: random.Random, n: int) -> Case:
    """Valid JSON with unusual text: stored (200). Lone surrogate escapes and a BOM are valid
    to some JSON parsers and not to others, so for those either answer goes, as long as a 200
    means stored."""
    ids = (f"odd-{n}",)
    value, ambiguous = rng.choice(
        [
            ("emoji \U0001f600 and \u202eRTL\u202c", False), ("zero\u200bwidth", False), ("\\u0000 escaped NUL", False),
            ("\\ud83d\\ude00 escaped pair", False), ("\\ud800 lone high", True), ("\\udc00 lone low", True),
            ("\\udfff\\ud800 reversed", True), ("\ufffe\uffff noncharacters", False), ("\U0010ffff last", False),
        ]
    )  # fmt: skip
    body = events_body(ids)[:-2] + b', "v": "' + value.encode("utf-8") + b'"}]'
    if rng.random() < 0.2:
        body, ambiguous = b"\xef\xbb\xbf" + body, True
    return Case("odd_unicode", "POST", "appId=shop", body, expected=frozenset({200, 400} if ambiguous else {200}), event_ids=ids)


def app_id_problems(rng: random.Random, n: int) -> Case:
    query = rng.choice(
        ["", "appId=", "platform=Web", "appId=nope", "appId=SHOP", "appId=shop%20", "appId=%20shop", "appid=shop",
         "appId=%ff%fe", "appId=sh%00op", "appId=" + "a" * 2000, "appId=nope&appId=shop", "appId=%E2%80%AEshop"]
    )  # fmt: skip
    return Case("app_id", "POST", query, events_body((f"bad-{n}",)), expected=frozenset({403}))


def bad_compression(rng: random.Random, n: int) -> Case:
    value = rng.choice(["deflate", "GZIP", "gzip%20", "br", "zstd", "none", "gzip,gzip", "%ff"])
    return Case("bad_compression", "POST", f"appId=shop&compression={value}", b64gzip(events_body((f"bad-{n}",))))


def bad_content_encoding(rng: random.Random, n: int) -> Case:
    encoding = rng.choice(["br", "deflate", "compress", "zstd", "gzip, gzip", "identity, gzip", "x-unknown", "*"])
    return Case("bad_content_encoding", "POST", "appId=shop", gz(events_body((f"bad-{n}",))), {"Content-Encoding": encoding})


def gzip_claimed_but_plain(rng: random.Random, n: int) -> Case:
    encoding = rng.choice(["gzip", "GZIP", "x-gzip", "gzip "])
    return Case("gzip_claimed_but_plain", "POST", "appId=shop", events_body((f"bad-{n}",)), {"Content-Encoding": encoding})


def empty_body(rng: random.Random, n: int) -> Case:
    return Case("empty_body", "POST", rng.choice(["appId=shop", "appId=shop&compression=gzip"]), b"")


def wrong_method(rng: random.Random, n: int) -> Case:
    method = rng.choice(["GET", "PUT", "DELETE", "PATCH", "HEAD"])
    body = None if method in ("GET", "HEAD") else events_body((f"bad-{n}",))
    return Case("wrong_method", method, "appId=shop", body, expected=frozenset({405}))


def wrong_path(rng: random.Random, n: int) -> Case:
    path = rng.choice(["/collect/", "/collectx", "/Collect", "/collect/extra", "/", "/%ff", "/collect;x", "/..%2fcollect"])
    return Case("wrong_path", "POST", "appId=shop", events_body((f"bad-{n}",)), expected=frozenset({404}), path=path)


def random_bytes(rng: random.Random, n: int) -> Case:
    body = rng.randbytes(rng.randint(1, 2000))
    query = rng.choice(["appId=shop", "appId=shop&compression=gzip"])
    headers = {"Content-Encoding": "gzip"} if rng.random() < 0.2 else {}
    return Case("random_bytes", "POST", query, body, headers)


def odd_headers_still_valid(rng: random.Random, n: int) -> Case:
    ids = (f"odd-{n}",)
    content_type = rng.choice(
        ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream", "garbage/////"]
    )
    headers = {
        "Content-Type": content_type,
        "X-Forwarded-For": rng.choice(["garbage", "1.2.3.4, unknown", "", "[::1]:80"]),
        "User-Agent": "Mozilla\tü" + "u" * rng.randint(0, 3000),
    }
    return Case(
        "odd_headers",
        "POST",
        "appId=shop&platform=" + rng.choice(["Web", "", "Windows", "%ff"]),
        events_body(ids),
        headers,
        frozenset({200}),
        ids,
    )


def preflight(rng: random.Random, n: int) -> Case:
    origin = rng.choice(["http://localhost:3000", "https://evil.example", "null", ""])
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": rng.choice(["content-type", "x-custom, , Content-Type", "bad header name", ""]),
    }
    return Case("preflight", "OPTIONS", rng.choice(["", "appId=nope"]), None, headers, frozenset({204}))


def oversized_header(rng: random.Random, n: int) -> Case:
    # Gunicorn's limit (8190 bytes per header) answers before the app does, in plain text.
    return Case(
        "oversized_header",
        "POST",
        "appId=shop",
        events_body((f"bad-{n}",)),
        {"X-Junk": "j" * 9000},
        frozenset({400, 431}),
        reaches_app=False,
    )


KINDS: list[tuple[Callable[[random.Random, int], Case], int]] = [
    (bad_base64, 10), (non_ascii_base64, 4), (bad_gzip, 8), (truncated_gzip, 8), (not_an_array, 8),
    (array_of_non_objects, 8), (invalid_json, 10), (deeply_nested, 1), (huge_body, 2), (enormous_body, 1), (gzip_bomb, 1),
    (invalid_utf8, 6), (odd_but_valid_unicode, 5), (app_id_problems, 8), (bad_compression, 5),
    (bad_content_encoding, 5), (gzip_claimed_but_plain, 4), (empty_body, 3), (wrong_method, 5),
    (wrong_path, 4), (random_bytes, 10), (odd_headers_still_valid, 3), (preflight, 1), (oversized_header, 1),
]  # fmt: skip


def generate_cases(seed: int) -> list[Case]:
    """MALFORMED malformed requests; odd-but-valid ones (expected 200) come on top, and a
    well-formed one before every WELL_FORMED_EVERY-th of the rest."""
    rng = random.Random(seed)
    kinds, weights = zip(*KINDS)
    cases: list[Case] = []
    malformed = n = 0
    while malformed < MALFORMED:
        if n % WELL_FORMED_EVERY == 0:
            cases.append(well_formed(rng, n))
        case = rng.choices(kinds, weights)[0](rng, n)
        cases.append(case)
        malformed += case.malformed
        n += 1
    return cases


# The run -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    status: int
    body: bytes


class Client:
    def __init__(self, url: str) -> None:
        self._url = url
        self._local = threading.local()

    def send(self, case: Case) -> Outcome:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        body = case.body() if callable(case.body) else case.body
        url = f"{self._url}{case.path}" + (f"?{case.query}" if case.query else "")
        # A prepared request keeps the path and query exactly as written (%ff, .., ;).
        prepared = session.prepare_request(requests.Request(case.method, url, data=body, headers=case.headers))
        prepared.url = url
        try:
            response = session.send(prepared, timeout=60)
        except requests.RequestException as error:
            return Outcome(case, 0, repr(error).encode())  # no answer at all: a failure too
        return Outcome(case, response.status_code, response.content)


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_INGEST_MAX_BODY_BYTES", str(MAX_BODY_BYTES))
    server = Server(tmp_path, threads=4)
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


def test_generation_is_deterministic():
    first, second = generate_cases(SEED)[:500], generate_cases(SEED)[:500]

    assert [(c.kind, c.query, c.headers, c.body if not callable(c.body) else b"".join(c.body())) for c in first] == [
        (c.kind, c.query, c.headers, c.body if not callable(c.body) else b"".join(c.body())) for c in second
    ]


def test_ten_thousand_malformed_requests(server):
    cases = generate_cases(SEED)
    server.wait_until_ready()
    client = Client(server.url)

    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        outcomes = list(pool.map(client.send, cases))

    # Every request got an answer, none a 5xx, each the documented one.
    unanswered = collections.Counter((o.case.kind, o.body[:120]) for o in outcomes if o.status == 0)
    assert unanswered == {}
    server_errors = [(o.case.kind, o.status, o.body[:200]) for o in outcomes if o.status >= 500]
    assert server_errors == [], server.log.read_text()[-5000:]
    unexpected = collections.Counter((o.case.kind, o.status) for o in outcomes if o.status not in o.case.expected)
    assert unexpected == {}
    for outcome in outcomes:
        if outcome.case.reaches_app and outcome.status >= 400 and outcome.case.method != "HEAD":
            error = json.loads(outcome.body)
            assert set(error) >= {"error", "message"}, outcome.case.kind
    assert sum(1 for o in outcomes if o.case.malformed) == MALFORMED
    assert requests.get(f"{server.url}/health", timeout=5).status_code == 200

    # /metrics, answered by one of the two workers, counts the requests of both.
    scraped = _scrape(server.url)
    answered_by_app = collections.Counter(str(o.status) for o in outcomes if o.case.reaches_app)
    assert {
        status: scraped.get(("clickstream_ingest_requests_total", (("status", status),)), 0) for status in answered_by_app
    } == answered_by_app
    stored_events = sum(len(o.case.event_ids) for o in outcomes if o.status == 200)
    assert scraped[("clickstream_ingest_events_total", (("app_id", "shop"),))] == stored_events

    # After a graceful stop: what was acknowledged is stored, exactly once; all was logged.
    assert server.stop() == 0

    acknowledged = sorted(event_id for o in outcomes if o.status == 200 for event_id in o.case.event_ids)
    assert sorted(server.stored_event_ids()) == acknowledged
    access = [json.loads(line) for line in server.log.read_text(errors="replace").splitlines() if line.startswith('{"time"')]
    logged_statuses = collections.Counter(line["status"] for line in access if line["path"] != "/ready")
    probes = collections.Counter({200: 2})  # /health and /metrics above
    assert logged_statuses == collections.Counter({int(status): n for status, n in answered_by_app.items()}) + probes
    assert sum(1 for line in access if line.get("rid")) == sum(1 for o in outcomes if o.status == 200)


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(f"{url}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
