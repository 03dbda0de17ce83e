"""The spool end to end in one process: shipping, deletion only after confirmation,
backpressure (spool bound, sink outage), restart, claims shared by workers, fsync policy."""

from __future__ import annotations

import gzip
import json
import os
import threading
from pathlib import Path

import pytest

from ingestion.sinks.destination import DestinationError, SealedSegment
from ingestion.sinks.local_lake import LocalLakeDestination
from ingestion.spool import RollPolicy, Spool, SpoolLimits
from ingestion.spool.intake import IntakeUnavailable
from ingestion.spool.shipper import Shipper, list_sealed

MIB = 1024 * 1024
NOW_MS = 1_714_568_400_000  # 2024-05-01T13:00:00Z


class Clock:
    def __init__(self) -> None:
        self.now = NOW_MS / 1000

    def __call__(self) -> float:
        return self.now


class MemoryDestination:
    """Records shipped lines; `failing` makes it refuse like an unreachable store."""

    kind = "memory"

    def __init__(self) -> None:
        self.failing = False
        self.shipped: dict[str, list[dict]] = {}
        self.attempts = 0

    def ship(self, segment: SealedSegment) -> None:
        self.attempts += 1
        if self.failing:
            raise DestinationError("memory destination is down")
        self.shipped[segment.stem] = [json.loads(line) for line in segment.lines()]

    def close(self) -> None:
        pass

    def describe(self) -> dict:
        return {"kind": self.kind}

    def records(self) -> list[dict]:
        return [record for records in self.shipped.values() for record in records]


def make_spool(root: Path, destination, *, clock=None, max_bytes=MIB, outage=60.0, max_records=None, fsync="interval"):
    return Spool(
        root,
        destination,
        RollPolicy(max_bytes=MIB, max_age_seconds=300, max_records=max_records),
        SpoolLimits(max_bytes=max_bytes, max_outage_seconds=outage),
        "test",
        clock=clock or Clock(),
        background=False,
        size_scan_seconds=0,
        fsync=fsync,
    )


def test_records_are_shipped_after_sealing_and_then_deleted(tmp_path: Path):
    destination = MemoryDestination()
    spool = make_spool(tmp_path, destination)
    for n in range(5):
        spool.write({"rid": str(n)}, NOW_MS)
    assert destination.records() == []  # still in the open segment

    spool.flush()
    assert spool.shipper.ship_pending()
    assert [r["rid"] for r in destination.records()] == ["0", "1", "2", "3", "4"]
    assert list_sealed(tmp_path / "sealed") == []
    assert spool.health()["shipper"]["segments_shipped"] == 1


def test_a_failing_destination_keeps_segments_until_it_confirms(tmp_path: Path):
    destination = MemoryDestination()
    spool = make_spool(tmp_path, destination)
    destination.failing = True
    spool.write({"rid": "a"}, NOW_MS)
    spool.flush()

    assert not spool.shipper.ship_pending()
    assert len(list_sealed(tmp_path / "sealed")) == 1
    health = spool.health()
    assert health["status"] == "degraded" and health["shipper"]["status"] == "failing"
    assert "memory destination is down" in health["last_error"]

    destination.failing = False
    assert spool.shipper.ship_pending()
    assert [r["rid"] for r in destination.records()] == ["a"]
    assert spool.health()["status"] == "ok"


def test_a_full_spool_refuses_and_accepts_again_once_shipped(tmp_path: Path):
    destination = MemoryDestination()
    destination.failing = True
    spool = make_spool(tmp_path, destination, max_bytes=4096)
    payload = os.urandom(1500).hex()  # incompressible enough to fill the bound quickly

    with pytest.raises(IntakeUnavailable, match="the spool is full"):
        for n in range(100):
            spool.write({"rid": str(n), "data": payload}, NOW_MS)
    accepted = n
    assert spool.health()["status"] == "refusing"

    destination.failing = False
    spool.flush()
    assert spool.shipper.ship_pending()
    spool.write({"rid": "after", "data": payload}, NOW_MS)
    spool.flush()
    spool.shipper.ship_pending()
    assert len(destination.records()) == accepted + 1  # every accepted record, nothing else


def test_a_long_outage_refuses_even_with_room_in_the_spool(tmp_path: Path):
    clock = Clock()
    destination = MemoryDestination()
    destination.failing = True
    spool = make_spool(tmp_path, destination, clock=clock, outage=60)
    spool.write({"rid": "1"}, NOW_MS)
    spool.flush()
    spool.shipper.ship_pending()

    clock.now += 59
    spool.write({"rid": "2"}, NOW_MS)
    clock.now += 2
    with pytest.raises(IntakeUnavailable, match="memory sink has been failing for 61 s"):
        spool.write({"rid": "3"}, NOW_MS)


class HangingDestination(MemoryDestination):
    """Gives up only when released, like a producer waiting out its flush timeout on dead brokers."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def ship(self, segment: SealedSegment) -> None:
        self.entered.set()
        self.release.wait(10)
        raise DestinationError("gave up after the flush timeout")


def test_the_outage_clock_starts_when_the_unconfirmed_shipment_started(tmp_path: Path):
    clock = Clock()
    destination = HangingDestination()
    spool = make_spool(tmp_path, destination, clock=clock, outage=60)
    spool.write({"rid": "1"}, NOW_MS)
    spool.flush()
    shipping = threading.Thread(target=spool.shipper.ship_pending)
    shipping.start()
    assert destination.entered.wait(10)

    clock.now += 61  # still inside the first attempt
    with pytest.raises(IntakeUnavailable, match="memory sink has been failing for 61 s"):
        spool.write({"rid": "2"}, NOW_MS)
    destination.release.set()
    shipping.join()
    clock.now += 1
    assert spool.health()["shipper"]["failing_for_seconds"] == 62


def test_a_restarted_spool_ships_what_its_predecessor_left(tmp_path: Path):
    first = make_spool(tmp_path, MemoryDestination())
    first.destination.failing = True
    first.write({"rid": "sealed"}, NOW_MS)
    first.flush()
    first.write({"rid": "open"}, NOW_MS)  # never sealed: the process "dies" here
    for segment in list(first.writer._segments.values()):
        segment.file.close()  # the kernel releases the lock of a dead process

    destination = MemoryDestination()
    second = make_spool(tmp_path, destination)
    assert second.shipper.ship_pending()
    assert sorted(r["rid"] for r in destination.records()) == ["open", "sealed"]


def test_workers_sharing_a_spool_ship_each_segment_once(tmp_path: Path):
    destination = MemoryDestination()
    spool = make_spool(tmp_path, destination, max_records=1)
    for n in range(40):
        spool.write({"rid": str(n)}, NOW_MS)
    # Another worker's shipper over the same directory, racing this one.
    other = Shipper(tmp_path / "sealed", destination, poll_seconds=None)
    threads = [threading.Thread(target=s.ship_pending) for s in (spool.shipper, other, spool.shipper)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spool.shipper.ship_pending()
    assert sorted(int(r["rid"]) for r in destination.records()) == list(range(40))
    assert destination.attempts == 40


def test_close_seals_and_drains_to_the_destination(tmp_path: Path):
    lake = tmp_path / "lake"
    spool = make_spool(tmp_path / "spool", LocalLakeDestination(lake))
    spool.write({"rid": "1"}, NOW_MS)
    spool.close()
    [path] = lake.glob("year=2024/month=05/day=01/hour=13/*.gz")
    assert [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()] == [{"rid": "1"}]
    assert list_sealed(tmp_path / "spool" / "sealed") == []
    with pytest.raises(IntakeUnavailable):
        spool.write({"rid": "2"}, NOW_MS)


def test_close_leaves_the_segments_of_a_failing_destination_for_the_next_start(tmp_path: Path):
    destination = MemoryDestination()
    destination.failing = True
    spool = make_spool(tmp_path, destination)
    spool.write({"rid": "1"}, NOW_MS)
    spool.flush()
    assert not spool.shipper.ship_pending()

    spool.close()  # a retry now would wait out the destination's timeout during the shutdown

    assert destination.attempts == 1
    assert len(list_sealed(tmp_path / "sealed")) == 1


def test_batch_fsync_flushes_every_write(tmp_path: Path, monkeypatch):
    calls = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd)))
    spool = make_spool(tmp_path, MemoryDestination(), fsync="batch")
    for n in range(3):
        spool.write({"rid": str(n)}, NOW_MS)
    assert len(calls) == 3

    interval = make_spool(tmp_path / "other", MemoryDestination(), fsync="interval")
    calls.clear()
    interval.write({"rid": "x"}, NOW_MS)
    assert calls == []
    interval.writer.fsync_open_segments()
    assert len(calls) == 1


def test_the_local_lake_replaces_a_segment_shipped_twice(tmp_path: Path):
    spool_dir = tmp_path / "spool"
    spool = make_spool(spool_dir, MemoryDestination())
    spool.write({"rid": "1"}, NOW_MS)
    spool.writer.flush()
    [segment] = list_sealed(spool_dir / "sealed")
    lake = LocalLakeDestination(tmp_path / "lake")
    lake.ship(segment)
    lake.ship(segment)  # a crash after shipping, before the delete
    assert len(list((tmp_path / "lake").rglob("*.gz"))) == 1
    assert not list((tmp_path / "lake").rglob(".*.tmp"))
