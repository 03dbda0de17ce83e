"""What the job reads of an hour directory: exactly the raw files it lists and reports, and
corrupt ones quarantined with their path and reason while their readable lines are processed."""

import gzip
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from plugins.job import run
from tests.processing.conftest import event, raw_record, write_raw_hour

pytestmark = pytest.mark.spark
HOUR = datetime(2023, 11, 14, 22, tzinfo=UTC)
APPS = ["shop_android"]


def run_hour(spark, lake: Path, ods: Path) -> dict:
    return run(spark, raw_root=lake, ods_root=ods, project_id="proj", app_ids=APPS, hours=[HOUR])


def written_ids(ods: Path) -> list[str]:
    with duckdb.connect() as connection:
        rows = connection.execute(f"select event_id from read_parquet('{ods}/ods_events/*/*/*/*/*.parquet') order by 1").fetchall()
    return [row[0] for row in rows]


def quarantine(ods: Path) -> list[tuple[str, str]]:
    with duckdb.connect() as connection:
        return connection.execute(f"select reason, raw from read_parquet('{ods}/quarantine/*/*.parquet') order by 1, 2").fetchall()


def test_a_stray_file_in_an_hour_directory_is_neither_read_nor_counted(spark, tmp_path: Path):
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    good = write_raw_hour(lake, "2023111422", [raw_record(json.dumps([event("a")]))])
    # An operator's note holding a valid raw record, a sink's in-flight file and a marker:
    # none of them is a sealed *.gz raw file.
    (good.parent / "notes.txt").write_text(json.dumps(raw_record(json.dumps([event("stray")]), rid="stray")) + "\n")
    (good.parent / ".part-0001.gz.tmp").write_bytes(gzip.compress(b"{}\n"))
    inflight = json.dumps(raw_record(json.dumps([event("inflight")]), rid="inflight")) + "\n"
    (good.parent / ".part-0002.gz").write_bytes(gzip.compress(inflight.encode()))
    (good.parent / "_SUCCESS").write_text("")
    report = run_hour(spark, lake, ods)
    assert report["raw_files"] == 1
    assert report["requests"] == 1
    assert written_ids(ods) == ["a"]


def records(prefix: str, count: int) -> list[dict]:
    return [raw_record(json.dumps([event(f"{prefix}{i:03d}")]), rid=f"{prefix}{i}") for i in range(count)]


def test_corrupt_files_are_quarantined_and_their_readable_lines_processed(spark, tmp_path: Path):
    NOT_GZIP, TRUNCATED = "not_gzip", "truncated"
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    write_raw_hour(lake, "2023111422", records("g", 3), name="good-1.gz")
    directory = write_raw_hour(lake, "2023111422", records("h", 3), name="good-2.gz").parent
    # A real gzip file cut in half (a copy that died half way), and a file named .gz that is not.
    whole = write_raw_hour(lake, "2023111422", records("t", 300), name="truncated.gz").read_bytes()
    (directory / "truncated.gz").write_bytes(whole[: len(whole) // 2])
    (directory / "plain.gz").write_text(json.dumps(raw_record(json.dumps([event("p")]), rid="p")) + "\n")

    # What is readable of the cut file, by zlib itself: whole lines, and the start of one.
    text = zlib.decompressobj(wbits=31).decompress(whole[: len(whole) // 2]).decode()
    *lines, tail = text.split("\n")
    readable = [json.loads(json.loads(line)["data"])[0]["event_id"] for line in lines]
    assert 50 < len(readable) < 300 and tail

    report = run_hour(spark, lake, ods)
    assert report["raw_files"] == 4
    assert written_ids(ods) == sorted(["g000", "g001", "g002", "h000", "h001", "h002", *readable])
    assert report["written"] == 6 + len(readable)
    prefix = f"file:{directory}"
    assert report["corrupt_files"] == [
        {"path": f"{prefix}/plain.gz", "problem": NOT_GZIP, "detail": "not a gzip file (no gzip header)"},
        {"path": f"{prefix}/truncated.gz", "problem": TRUNCATED, "detail": "ends inside gzip member 1"},
    ]
    assert report["quarantined"]["corrupt_file"] == 2
    # The unfinished last line is an undecodable request, like any corrupt line.
    assert report["quarantined"]["undecodable"] == 1
    rows = quarantine(ods)
    assert rows[2:] == [("undecodable", tail)]
    assert [(reason, json.loads(raw)) for reason, raw in rows[:2]] == [
        ("corrupt_file", {"path": f"{prefix}/plain.gz", "problem": NOT_GZIP, "detail": "not a gzip file (no gzip header)"}),
        ("corrupt_file", {"path": f"{prefix}/truncated.gz", "problem": TRUNCATED, "detail": "ends inside gzip member 1"}),
    ]


def test_gzip_problems_are_named():
    from plugins.raw_files import CRC_MISMATCH, NOT_GZIP, TRUNCATED, gzip_problem, inflated_lines

    body = b"".join(f'{{"n": {i}}}\n'.encode() for i in range(1000))
    member = gzip.compress(body)
    assert gzip_problem(member) is None
    assert gzip_problem(member + gzip.compress(b'{"n": -1}\n')) is None  # concatenated members
    assert gzip_problem(b"") == (TRUNCATED, "empty file")
    assert gzip_problem(member[:-4]) == (TRUNCATED, "ends inside gzip member 1")
    assert gzip_problem(member + member[:30]) == (TRUNCATED, "ends inside gzip member 2")
    assert gzip_problem(b"plain text\n") == (NOT_GZIP, "not a gzip file (no gzip header)")
    bad_crc = member[:-8] + bytes(4) + member[-4:]
    assert gzip_problem(bad_crc)[0] == CRC_MISMATCH
    problem, detail = gzip_problem(member + b"trailing garbage")
    assert problem == "corrupt_data" and "after gzip member 1" in detail
    # What a salvage reads: every line of every whole member, then the start of the cut one.
    lines = list(inflated_lines(member + member[: len(member) // 2]))
    assert lines[:1000] == [f'{{"n": {i}}}' for i in range(1000)]
    assert 1000 < len(lines) < 2000 and lines[-1] != '{"n": 999}'
