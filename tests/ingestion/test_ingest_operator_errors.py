"""What operators and clients see when the spool or the local lake fails (issue 11, item 13):
/ready reports state words and counts, never server paths or OS errors; a first start logs
no error; a failing destination is one log line per failure episode, without a traceback."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from ingestion.app import create_app
from ingestion.sinks.local_lake import LocalLakeDestination
from ingestion.spool import RollPolicy, Spool, SpoolLimits
from ingestion.spool.shipper import Shipper

MIB = 1024 * 1024


def spool_over_a_broken_lake(tmp_path: Path) -> Spool:
    """A spool whose local lake cannot be written: its root is a file (as root, a read-only
    directory would still be writable)."""
    lake = tmp_path / "lake"
    lake.write_text("")
    return Spool(
        tmp_path / "spool", LocalLakeDestination(lake), RollPolicy(max_bytes=MIB, max_age_seconds=300, max_records=1),
        SpoolLimits(max_bytes=MIB, max_outage_seconds=60), "test", background=False, size_scan_seconds=0,
    )  # fmt: skip


def write_and_ship(spool: Spool, times: int) -> None:
    for index in range(times):
        spool.write({"n": index}, int(time.time() * 1000))
        spool.shipper.ship_pending()


def test_ready_names_no_server_path_nor_os_error(project_config, tmp_path: Path, caplog):
    spool = spool_over_a_broken_lake(tmp_path)
    write_and_ship(spool, 2)
    client = create_app(project_config, intake=spool).test_client()

    response = client.get("/ready")

    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert str(tmp_path) not in body and "Errno" not in body and "Not a directory" not in body
    payload = json.loads(body)
    assert payload["sink"]["status"] == "degraded"
    assert payload["sink"]["shipper"]["status"] == "failing"
    assert payload["sink"]["spool"]["segments"] >= 1
    # The cause stays in the server log.
    assert str(tmp_path / "lake") in caplog.text


def test_ready_when_healthy_has_no_paths_either(project_config, tmp_path: Path):
    spool = Spool(tmp_path / "spool", LocalLakeDestination(tmp_path / "lake"), RollPolicy(max_bytes=MIB, max_age_seconds=300),
                  SpoolLimits(max_bytes=MIB, max_outage_seconds=60), "test", background=False)  # fmt: skip
    client = create_app(project_config, intake=spool).test_client()
    response = client.get("/ready")
    assert response.status_code == 200
    assert str(tmp_path) not in response.get_data(as_text=True)
    assert response.get_json()["sink"]["type"] == "local"


def test_a_missing_sealed_directory_is_an_empty_spool(tmp_path: Path, caplog):
    shipper = Shipper(tmp_path / "spool" / "sealed", LocalLakeDestination(tmp_path / "lake"), poll_seconds=None)
    with caplog.at_level(logging.DEBUG):
        assert shipper.ship_pending() is True
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_a_first_start_logs_no_error(tmp_path: Path, caplog):
    with caplog.at_level(logging.DEBUG):
        spool = Spool(tmp_path / "fresh" / "spool", LocalLakeDestination(tmp_path / "lake"),
                      RollPolicy(max_bytes=MIB, max_age_seconds=300), SpoolLimits(max_bytes=MIB, max_outage_seconds=60), "test")  # fmt: skip
        spool.shipper.ship_pending()
        spool.close()
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert "Traceback" not in caplog.text


def test_a_failing_local_lake_logs_one_line_per_episode(tmp_path: Path, caplog):
    spool = spool_over_a_broken_lake(tmp_path)
    with caplog.at_level(logging.INFO, logger="ingestion"):
        write_and_ship(spool, 11)
    problems = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(problems) == 1, [record.getMessage() for record in problems]
    line = problems[0].getMessage()
    assert "\n" not in line and "cannot write" in line and str(tmp_path / "lake") in line
    assert problems[0].exc_info is None and "Traceback" not in caplog.text

    # Recovery is logged once, and the next failure is a new episode.
    (tmp_path / "lake").unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ingestion"):
        spool.shipper.ship_pending()
    assert any("recovered" in record.getMessage() for record in caplog.records)
    assert spool.shipper.state()["status"] == "ok"


def test_a_long_failure_is_summarised_every_interval(tmp_path: Path, caplog):
    from ingestion.spool.shipper import FAILURE_LOG_INTERVAL_SECONDS

    now = [1_000_000.0]
    spool = spool_over_a_broken_lake(tmp_path)
    shipper = Shipper(spool.shipper.sealed_dir, spool.destination, clock=lambda: now[0], poll_seconds=None)
    with caplog.at_level(logging.INFO, logger="ingestion"):
        write_and_ship(spool, 3)  # the spool's own shipper: one line
        for _ in range(5):
            shipper.ship_pending()
        now[0] += FAILURE_LOG_INTERVAL_SECONDS
        shipper.ship_pending()
        shipper.ship_pending()
    lines = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(lines) == 3, lines
    assert "still failing after 6 attempts in 600 s" in lines[2]


def test_the_same_outage_on_another_segment_is_not_a_new_error(tmp_path: Path, caplog):
    """The error names the segment's file; when the oldest segment is another one (a sibling
    worker holds it, or two sealed in one millisecond sort by their random suffix), the
    outage is the same and is not logged again."""
    import fcntl

    from ingestion.spool.shipper import list_sealed

    spool = spool_over_a_broken_lake(tmp_path)
    with caplog.at_level(logging.INFO, logger="ingestion"):
        write_and_ship(spool, 2)
        oldest, other = list_sealed(spool.shipper.sealed_dir)[:2]
        with open(oldest.path, "rb") as held:
            fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # a sibling ships it
            spool.shipper.ship_pending()
    assert other.stem in spool.shipper.state()["last_error"]
    problems = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(problems) == 1, problems
