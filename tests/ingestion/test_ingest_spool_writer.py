"""The spool writer with real files, shipping synchronously to a local lake: layout, when
segments are sealed, and crash recovery."""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import subprocess
import sys
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingestion.records import encode_record
from ingestion.sinks.layout import hour_of, inflight_name, new_file_stem
from ingestion.sinks.local_lake import LocalLakeDestination
from ingestion.spool import RollPolicy, SegmentWriter
from ingestion.spool.gzip_lines import GzipLineWriter
from ingestion.spool.intake import IntakeUnavailable
from ingestion.spool.shipper import Shipper

REPO_ROOT = Path(__file__).resolve().parents[2]
SEALED_GLOB = "year=*/month=*/day=*/hour=*/*.gz"
MIB = 1024 * 1024
SPOOL = "_spool"


class LakeSink:
    """A spool under `<root>/_spool` whose sealed segments are shipped to a local lake at
    `root` right after every call, so a sealed segment is visible in the lake at once."""

    def __init__(self, root: Path, size: int, interval: int, tag: str, *, clock=time.time, background_seconds=None):
        self.shipper = Shipper(root / SPOOL / "sealed", LocalLakeDestination(root), clock=clock, poll_seconds=background_seconds)
        self.writer = SegmentWriter(
            root / SPOOL,
            RollPolicy(max_bytes=size, max_age_seconds=interval),
            tag,
            clock=clock,
            background_seconds=background_seconds,
            on_seal=self.shipper.notify,
        )
        self.ship()

    def ship(self) -> None:
        self.shipper.ship_pending()

    def write(self, record: dict, arrival_ms: int) -> None:
        self.writer.write(record, arrival_ms)
        self.ship()

    def flush(self) -> None:
        self.writer.flush()
        self.ship()

    def close(self) -> None:
        self.writer.close()
        self.shipper.drain(5)

    def seal_due_files(self) -> None:
        self.writer.seal_due()
        self.ship()

    def recover_inflight(self) -> int:
        recovered = self.writer.recover_inflight()
        self.ship()
        return recovered

    def health(self) -> dict:
        return self.writer.state()


def at(text: str) -> int:
    """Epoch milliseconds of a UTC time like '2024-05-01T13:59:59'."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


class FakeClock:
    def __init__(self, start_ms: int) -> None:
        self.now = start_ms / 1000

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_sink(root: Path, clock: FakeClock, *, size: int = MIB, interval: int = 300) -> LakeSink:
    return LakeSink(root, size, interval, "test-host", clock=clock)


def sealed(root: Path) -> list[Path]:
    return sorted(root.glob(SEALED_GLOB))


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]


def in_flight(root: Path) -> list[Path]:
    return sorted((root / SPOOL / "open").glob("*.part"))


def test_records_land_in_the_hour_of_arrival_as_gzip_ndjson(tmp_path):
    clock = FakeClock(at("2024-05-01T13:05:00"))
    sink = make_sink(tmp_path, clock)
    records = [{"rid": str(n), "data": "[{}]", "note": "ünïcödé"} for n in range(3)]

    for record in records:
        sink.write(record, at("2024-05-01T13:05:00"))
    sink.flush()

    [path] = sealed(tmp_path)
    assert path.parent.relative_to(tmp_path) == Path("year=2024/month=05/day=01/hour=13")
    assert path.name.endswith(".gz") and "test-host" in path.name and str(os.getpid()) in path.name
    assert lines_of(path) == records
    assert in_flight(tmp_path) == []


def test_nothing_is_visible_in_hour_directories_before_sealing(tmp_path):
    clock = FakeClock(at("2024-05-01T13:05:00"))
    sink = make_sink(tmp_path, clock)

    sink.write({"rid": "1"}, at("2024-05-01T13:05:00"))

    assert sealed(tmp_path) == []
    assert list(tmp_path.rglob("*.gz")) == []
    [part] = in_flight(tmp_path)
    # Already handed to the OS: the unfinished file decompresses to the record.
    assert zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(part.read_bytes()) == encode_record({"rid": "1"})
    sink.close()


def test_a_file_is_sealed_when_it_reaches_the_buffer_size(tmp_path):
    clock = FakeClock(at("2024-05-01T13:05:00"))
    sink = make_sink(tmp_path, clock, size=2000)
    records = [{"rid": str(n), "data": os.urandom(600).hex()} for n in range(10)]  # incompressible

    for record in records:
        sink.write(record, at("2024-05-01T13:05:00"))

    assert len(sealed(tmp_path)) >= 3
    sink.close()
    stored = [line for path in sealed(tmp_path) for line in lines_of(path)]
    assert sorted(stored, key=lambda line: int(line["rid"])) == records
    assert len({path.name for path in sealed(tmp_path)}) == len(sealed(tmp_path))


def test_a_new_hour_seals_the_previous_hours_file(tmp_path):
    clock = FakeClock(at("2024-05-01T13:59:59"))
    sink = make_sink(tmp_path, clock)
    sink.write({"rid": "before"}, at("2024-05-01T13:59:59"))
    clock.advance(2)

    sink.write({"rid": "after"}, at("2024-05-01T14:00:01"))

    [path] = sealed(tmp_path)
    assert "hour=13" in str(path) and lines_of(path) == [{"rid": "before"}]
    sink.flush()
    hours = {p.parent.name: lines_of(p) for p in sealed(tmp_path)}
    assert hours == {"hour=13": [{"rid": "before"}], "hour=14": [{"rid": "after"}]}


def test_a_late_record_still_goes_to_its_own_arrival_hour(tmp_path):
    # Two threads: one took its arrival time at 13:59:59.999, the other at 14:00:00 got the lock first.
    clock = FakeClock(at("2024-05-01T14:00:00"))
    sink = make_sink(tmp_path, clock)

    sink.write({"rid": "on time"}, at("2024-05-01T14:00:00"))
    sink.write({"rid": "late"}, at("2024-05-01T13:59:59") + 999)
    sink.close()

    hours = {p.parent.name: lines_of(p) for p in sealed(tmp_path)}
    assert hours == {"hour=13": [{"rid": "late"}], "hour=14": [{"rid": "on time"}]}


def test_a_file_is_sealed_when_it_reaches_the_buffer_interval(tmp_path):
    clock = FakeClock(at("2024-05-01T13:00:00"))
    sink = make_sink(tmp_path, clock, interval=60)
    sink.write({"rid": "1"}, at("2024-05-01T13:00:00"))

    clock.advance(59)
    sink.seal_due_files()
    assert sealed(tmp_path) == []

    clock.advance(1)
    sink.seal_due_files()
    [path] = sealed(tmp_path)
    assert lines_of(path) == [{"rid": "1"}]


def test_an_old_file_is_sealed_before_the_next_write(tmp_path):
    clock = FakeClock(at("2024-05-01T13:00:00"))
    sink = make_sink(tmp_path, clock, interval=60)
    sink.write({"rid": "1"}, at("2024-05-01T13:00:00"))
    clock.advance(61)

    sink.write({"rid": "2"}, at("2024-05-01T13:01:01"))

    assert [lines_of(p) for p in sealed(tmp_path)] == [[{"rid": "1"}]]
    assert len(in_flight(tmp_path)) == 1
    sink.close()


def test_a_file_is_sealed_when_its_hour_is_over_without_further_traffic(tmp_path):
    clock = FakeClock(at("2024-05-01T13:59:00"))
    sink = make_sink(tmp_path, clock, interval=3600)
    sink.write({"rid": "1"}, at("2024-05-01T13:59:00"))

    clock.advance(61)
    sink.seal_due_files()

    assert len(sealed(tmp_path)) == 1


def test_the_background_thread_seals_due_files(tmp_path):
    clock = FakeClock(at("2024-05-01T13:00:00"))
    sink = LakeSink(tmp_path, MIB, 60, "test-host", clock=clock, background_seconds=0.01)
    sink.write({"rid": "1"}, at("2024-05-01T13:00:00"))

    clock.advance(60)
    deadline = time.monotonic() + 10
    while not sealed(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.01)

    assert len(sealed(tmp_path)) == 1
    sink.close()


def test_close_seals_everything_and_refuses_later_writes(tmp_path):
    clock = FakeClock(at("2024-05-01T13:00:00"))
    sink = make_sink(tmp_path, clock)
    sink.write({"rid": "1"}, at("2024-05-01T12:59:00"))
    sink.write({"rid": "2"}, at("2024-05-01T13:00:00"))

    sink.close()
    sink.close()

    assert sorted(p.parent.name for p in sealed(tmp_path)) == ["hour=12", "hour=13"]
    assert in_flight(tmp_path) == []
    assert sink.health()["status"] == "closed"
    with pytest.raises(IntakeUnavailable):
        sink.write({"rid": "3"}, at("2024-05-01T13:00:00"))


def test_health_reports_write_failures_until_writes_work_again(tmp_path):
    clock = FakeClock(at("2024-05-01T13:00:00"))
    sink = make_sink(tmp_path, clock)
    assert sink.health()["status"] == "ok"
    inflight_dir = tmp_path / SPOOL / "open"
    inflight_dir.rmdir()
    inflight_dir.write_text("not a directory")  # stands in for a full or broken disk (tests may run as root)

    with pytest.raises(IntakeUnavailable):
        sink.write({"rid": "1"}, at("2024-05-01T13:00:00"))
    assert sink.health()["status"] == "error"
    assert sink.health()["last_error"]

    inflight_dir.unlink()
    inflight_dir.mkdir()
    sink.write({"rid": "2"}, at("2024-05-01T13:00:00"))
    assert sink.health()["status"] == "ok"
    sink.close()
    assert [lines_of(p) for p in sealed(tmp_path)] == [[{"rid": "2"}]]


def test_a_record_that_is_not_valid_utf8_text_is_still_one_valid_json_line():
    line = encode_record({"ua": "lone surrogate \udc80"})

    assert json.loads(line) == {"ua": "lone surrogate \udc80"}
    assert line.endswith(b"\n") and line.count(b"\n") == 1


def _leftover(root: Path, hour_ms: int, chunks: list[bytes], *, cut: int = 0) -> Path:
    """An in-flight file as a crashed writer leaves it: flushed appends, no trailer."""
    path = root / SPOOL / "open" / inflight_name(hour_of(hour_ms), new_file_stem("crashed", hour_ms / 1000))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        writer = GzipLineWriter(file)
        for chunk in chunks:
            writer.append(chunk)
    if cut:
        os.truncate(path, path.stat().st_size - cut)
    return path


def test_a_truncated_leftover_is_recovered_up_to_its_last_complete_line(tmp_path):
    hour_ms = at("2024-05-01T09:30:00")
    lines = [encode_record({"rid": str(n), "data": os.urandom(40).hex()}) for n in range(3)]
    leftover = _leftover(tmp_path, hour_ms, lines, cut=30)  # the last append was torn

    sink = make_sink(tmp_path, FakeClock(at("2024-05-01T12:00:00")))

    [path] = sealed(tmp_path)
    assert path.parent.relative_to(tmp_path) == Path("year=2024/month=05/day=01/hour=09")
    assert path.name == leftover.name.removeprefix("2024050109_").removesuffix(".gz.part") + ".gz"
    assert lines_of(path) == [{"rid": "0", "data": json.loads(lines[0])["data"]}, {"rid": "1", "data": json.loads(lines[1])["data"]}]
    assert not leftover.exists()
    assert sink.health()["records_recovered"] == 2


def test_a_leftover_cut_inside_a_line_keeps_only_complete_lines(tmp_path):
    _leftover(tmp_path, at("2024-05-01T09:00:00"), [b'{"rid":"1"}\n{"rid":"2"}\n{"rid":"3", "partial'])

    make_sink(tmp_path, FakeClock(at("2024-05-01T12:00:00")))

    assert [lines_of(p) for p in sealed(tmp_path)] == [[{"rid": "1"}, {"rid": "2"}]]


def test_leftovers_without_a_complete_line_are_removed(tmp_path):
    empty = _leftover(tmp_path, at("2024-05-01T09:00:00"), [])
    garbage = tmp_path / SPOOL / "open" / empty.name.replace("crashed", "garbage")
    garbage.write_bytes(b"\x1f\x8b this is not deflate data")

    make_sink(tmp_path, FakeClock(at("2024-05-01T12:00:00")))

    assert sealed(tmp_path) == []
    assert in_flight(tmp_path) == []


def test_a_file_locked_by_a_live_writer_is_left_alone(tmp_path):
    live = _leftover(tmp_path, at("2024-05-01T09:00:00"), [b'{"rid":"1"}\n'])
    with open(live, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)

        sink = make_sink(tmp_path, FakeClock(at("2024-05-01T12:00:00")))

        assert live.exists()
        assert sealed(tmp_path) == []
    assert sink.recover_inflight() == 1
    assert len(sealed(tmp_path)) == 1


def test_a_crashed_process_loses_nothing_it_wrote(tmp_path):
    script = (
        "import os, sys, time\n"
        "from ingestion.spool import RollPolicy, SegmentWriter\n"
        "sink = SegmentWriter(sys.argv[1] + '/_spool', RollPolicy(1 << 20, 300), 'child', background_seconds=None)\n"
        "for n in range(500):\n"
        "    sink.write({'rid': str(n)}, int(time.time() * 1000))\n"
        "os._exit(1)  # no close(), no atexit, no trailer\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=REPO_ROOT, check=False, timeout=60)
    assert in_flight(tmp_path)  # the crash left its file unsealed

    LakeSink(tmp_path, MIB, 300, "test-host")

    stored = [line["rid"] for path in sealed(tmp_path) for line in lines_of(path)]
    assert sorted(stored, key=int) == [str(n) for n in range(500)]
    assert in_flight(tmp_path) == []
