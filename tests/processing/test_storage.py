"""File operations through Hadoop's FileSystem API (plugins/storage.py) and the commit on top.

Only the ``file:`` scheme can run here (no S3 connector jar, no AWS); S3 goes through the same
calls on EMR (EMRFS), which is what using Hadoop's API instead of pathlib buys."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plugins.commit import commit_hours, replace_partitions
from plugins.job import run
from plugins.storage import Storage, as_uri, base_name, join
from tests.processing.conftest import event, raw_record, write_raw_hour

pytestmark = pytest.mark.spark


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_as_uri_join_and_base_name(tmp_path):
    assert as_uri(tmp_path) == tmp_path.resolve().as_uri()
    assert as_uri("s3://bucket/prefix/") == "s3://bucket/prefix"
    assert join("s3://b/p/", "a", "b.gz") == "s3://b/p/a/b.gz"
    assert base_name("s3://b/p/a/b.gz") == "b.gz"


def test_glob_rename_delete(spark, tmp_path):
    storage = Storage(spark)
    root = as_uri(tmp_path)
    touch(tmp_path / "d" / "a.gz")
    touch(tmp_path / "d" / "b.txt")
    (tmp_path / "d" / "sub.gz").mkdir()
    assert [base_name(f) for f in storage.glob(join(root, "d", "*.gz"))] == ["a.gz"]  # files only
    assert storage.glob(join(root, "missing", "*.gz")) == []
    storage.rename(join(root, "d", "a.gz"), join(root, "new", "deep", "a.gz"))
    assert (tmp_path / "new" / "deep" / "a.gz").read_text() == "x"
    assert not storage.is_empty_dir(join(root, "d"))
    storage.delete(join(root, "d"), recursive=True)
    assert not storage.exists(join(root, "d"))
    (tmp_path / "empty").mkdir()
    assert storage.is_empty_dir(join(root, "empty"))
    with pytest.raises(OSError, match="could not move"):
        storage.rename(join(root, "nothing-here"), join(root, "x"))


def test_commit_replaces_only_the_hours_files(spark, tmp_path):
    storage = Storage(spark)
    dataset, staging = tmp_path / "ods_events", tmp_path / "staging"
    day = "partition_app=a/partition_year=2026/partition_month=11/partition_day=21"
    touch(dataset / day / "h2026112110-old.parquet")
    touch(dataset / day / "h2026112111-keep.parquet")
    touch(staging / "ingest_hour=2026112110" / day / "part-1.parquet", "new")
    committed = commit_hours(storage, as_uri(staging), as_uri(dataset), ["2026112110", "2026112112"])
    assert sorted(p.name for p in (dataset / day).iterdir()) == ["h2026112110-part-1.parquet", "h2026112111-keep.parquet"]
    assert [base_name(c) for c in committed] == ["h2026112110-part-1.parquet"]
    assert (dataset / day / "h2026112110-part-1.parquet").read_text() == "new"
    assert not staging.exists()


def test_replace_partitions_swaps_hour_directories(spark, tmp_path):
    storage = Storage(spark)
    dataset, staging = tmp_path / "quarantine", tmp_path / "staging"
    touch(dataset / "ingest_hour=2026112110" / "old.parquet")
    touch(dataset / "ingest_hour=2026112111" / "other.parquet")
    touch(staging / "ingest_hour=2026112111" / "new.parquet")
    replace_partitions(storage, as_uri(staging), as_uri(dataset), ["2026112110", "2026112111"])
    assert not (dataset / "ingest_hour=2026112110").exists()
    assert [p.name for p in (dataset / "ingest_hour=2026112111").iterdir()] == ["new.parquet"]


def test_job_on_uri_roots_and_kafka_connector_file_names(spark, tmp_path):
    """Roots given as URIs, and raw files named as the Kafka S3 sink connector names them
    (``<topic>+<partition>+<offset>.json.gz`` below ``<prefix><topic>/``)."""
    lake = tmp_path / "bucket" / "clickstream" / "p" / "data" / "buffer" / "my_topic"
    write_raw_hour(lake, "2023111422", [raw_record(json.dumps([event("a"), event("b")]))], name="my_topic+0+0000000042.json.gz")
    report = run(spark, raw_root=as_uri(lake) + "/", ods_root=as_uri(tmp_path / "ods"), project_id="p", app_ids=["shop_android"],
                 hours=[datetime(2023, 11, 14, 22, tzinfo=UTC)])  # fmt: skip
    assert (report["raw_files"], report["written"]) == (1, 2)
    assert len(list((tmp_path / "ods" / "ods_events").rglob("h2023111422-*.parquet"))) == report["output_files"] >= 1
    assert not (tmp_path / "ods" / "_staging").exists()
