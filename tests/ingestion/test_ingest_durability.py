"""Durability of the real server.

Crash test: under load, master and every worker are killed with SIGKILL at once (as an OOM kill
of the container would), then the server restarts on the same spool. Outage test: the S3 sink
(a moto server behind a proxy that can be cut) goes away under load; the spool fills, the
service answers 503, the sink comes back, and everything acknowledged arrives. In both, every
acknowledged event must reach the sink at least once; none may be missing."""

from __future__ import annotations

import gzip
import json
import os
import signal
import threading
import time
from collections import Counter

import boto3
import requests
from destination_helpers import aws_test_env, running_moto_server
from tcp_proxy import CuttableProxy
from test_ingest_server import Server

LOAD_SECONDS = 2.0


def post_until(server: Server, stop: threading.Event, first: int) -> None:
    n = first
    while not stop.is_set():
        server.post_events(n, 40)
        n += 40


def test_sigkill_under_load_loses_no_acknowledged_event(tmp_path):
    server = Server(tmp_path, threads=4)
    server.wait_until_ready()
    stop = threading.Event()
    clients = [threading.Thread(target=post_until, args=(server, stop, k * 1_000_000)) for k in range(2)]
    for client in clients:
        client.start()
    time.sleep(LOAD_SECONDS)
    os.killpg(server.process.pid, signal.SIGKILL)  # mid-request, mid-append, no shutdown hooks
    stop.set()
    for client in clients:
        client.join()
    server.process.wait()
    acknowledged = set(server.acknowledged)
    assert len(acknowledged) > 200, "the load did not get going before the kill"
    assert server.in_flight(), "the kill left nothing in the spool: it did not hit under load"

    restarted = Server(tmp_path, threads=4)  # same config file, same spool and lake
    restarted.wait_until_ready()
    assert restarted.stop() == 0

    stored = Counter(restarted.stored_event_ids())
    print(
        f"crash test: {len(acknowledged)} acknowledged, {len(stored)} distinct stored, "
        f"{sum(stored.values()) - len(stored)} duplicates, {len(acknowledged - stored.keys())} missing"
    )
    missing = acknowledged - stored.keys()
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    assert restarted.in_flight() == []
    # Duplicates are allowed (at-least-once) but a local lake should not produce any.
    assert sum(stored.values()) - len(stored) == 0


# Outage ----------------------------------------------------------------------------------

PAD = 6000  # bytes of incompressible padding per event: fills a 1 MiB spool in ~200 requests


def post_padded(server: Server, n: int, session: requests.Session) -> int:
    event = {"event_type": "big", "event_id": f"event-{n}", "app_id": "shop", "attributes": {"pad": os.urandom(PAD // 2).hex()}}
    try:
        response = session.post(f"{server.url}/collect", params={"appId": "shop", "platform": "Web"}, data=json.dumps([event]), timeout=30)
    except requests.RequestException:
        return 0
    if response.status_code == 200:
        server.acknowledged.add(f"event-{n}")
    elif response.status_code == 503:
        assert response.headers.get("Retry-After", "").isdigit()
        assert response.json()["error"] == "sink_unavailable"
    return response.status_code


def s3_event_ids(endpoint: str, bucket: str) -> Counter:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    ids: Counter = Counter()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            assert "/year=" in item["Key"] and item["Key"].endswith(".gz")
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            for line in gzip.decompress(body).splitlines():
                ids.update(event["event_id"] for event in json.loads(json.loads(line)["data"]))
    return ids


def test_s3_outage_fills_the_spool_then_503_then_everything_arrives(tmp_path):
    with aws_test_env(), running_moto_server() as moto:
        boto3.client("s3", endpoint_url=moto, region_name="us-east-1").create_bucket(Bucket="raw-lake")
        proxy = CuttableProxy(int(moto.rsplit(":", 1)[1]))
        pipeline = {
            "sink": {
                "type": "s3",
                "s3": {"bucket": "raw-lake", "endpoint_url": proxy.endpoint, "region": "us-east-1"},
                "buffer_size_mib": 1,
            },
            "ingestion": {"spool_max_mib": 1},
        }
        server = Server(tmp_path, threads=4, pipeline=pipeline, env=dict(os.environ))
        server.wait_until_ready()
        session = requests.Session()
        n = 0

        proxy.cut()
        statuses: Counter = Counter()
        while statuses[503] < 20 and n < 5000:  # until the spool bound answers
            statuses[post_padded(server, n, session)] += 1
            n += 1
        assert statuses[503] >= 20, f"no backpressure after {n} requests: {statuses}"
        assert statuses[200] > 50
        ready = requests.get(f"{server.url}/ready", timeout=5)
        assert ready.status_code == 503, ready.text

        proxy.restore()
        accepted_again = False
        deadline = time.monotonic() + 90  # the shipper's backoff is at most 30 s
        while time.monotonic() < deadline and not accepted_again:
            accepted_again = post_padded(server, n, session) == 200
            n += 1
            time.sleep(0.2)
        assert accepted_again, "the server did not accept again after the sink came back"
        for _ in range(50):
            post_padded(server, n, session)
            n += 1

        assert server.stop() == 0  # graceful: seals and ships the rest
        stored = s3_event_ids(moto, "raw-lake")
        proxy.close()
    missing = server.acknowledged - stored.keys()
    print(
        f"outage test: {n} requests, {statuses[503]} answered 503 during the outage, "
        f"{len(server.acknowledged)} acknowledged, {len(missing)} missing, "
        f"{sum(stored.values()) - len(stored)} duplicates in S3"
    )
    assert not missing, f"{len(missing)} acknowledged events missing from S3"
