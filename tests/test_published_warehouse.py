"""Published read snapshots of the DuckDB warehouse (clickstream_project/published_warehouse.py):
what the pointer names, what a crash leaves, pruning, and the errors readers get."""

from pathlib import Path

import duckdb
import pytest

from clickstream_project import published_warehouse
from clickstream_project.published_warehouse import (
    NothingPublishedError,
    PublishedWarehouseError,
    current,
    open_published,
    pointer_path,
    publish,
    published_dir,
)

# 2026-12-07 02:30:00 UTC and an hour later, in epoch ms.
HALF_PAST_TWO = 1_796_610_600_000
HOUR_MS = 3_600_000


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A warehouse as dbt leaves it: one app schema with ods_events, and an app without events."""
    path = tmp_path / "warehouse" / "clickstream.duckdb"
    path.parent.mkdir()
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema shop_web; create table shop_web.ods_events (event_id varchar, event_timestamp bigint)")
        connection.execute("insert into shop_web.ods_events values ('e1', ?), ('e2', ?)", [HALF_PAST_TWO, HALF_PAST_TWO - HOUR_MS])
        connection.execute("create schema shop_ios; create table shop_ios.ods_events (event_id varchar, event_timestamp bigint)")
    return path


def add_event(path: Path, event_id: str, timestamp: int, checkpoint_on_close: bool = True) -> None:
    with duckdb.connect(str(path)) as connection:
        if not checkpoint_on_close:
            # As a writer that crashed: the change stays in the write-ahead log.
            connection.execute("pragma disable_checkpoint_on_shutdown")
        connection.execute("insert into shop_web.ods_events values (?, ?)", [event_id, timestamp])


def event_ids(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return [row[0] for row in connection.execute("select event_id from shop_web.ods_events order by 1").fetchall()]


def snapshots(warehouse: Path) -> list[str]:
    return sorted(path.name for path in published_dir(warehouse).iterdir() if path.name.endswith(".duckdb"))


def test_nothing_published_yet(warehouse):
    assert current(warehouse) is None
    with pytest.raises(NothingPublishedError, match="no data published yet"):
        open_published(warehouse)


def test_the_pointer_names_a_copy_with_each_apps_newest_event_hour(warehouse):
    published = publish(warehouse)
    assert current(warehouse) == published
    assert published.path(warehouse) == published_dir(warehouse) / f"{published.version}.duckdb"
    assert published.latest_event_hours == {"shop_ios": None, "shop_web": "2026-12-07T02:00:00Z"}
    opened, connection = open_published(warehouse)
    with connection:
        assert opened == published
        assert connection.execute("select count(*) from shop_web.ods_events").fetchone() == (2,)
        with pytest.raises(duckdb.InvalidInputException, match="read-only"):
            connection.execute("insert into shop_web.ods_events values ('e9', 0)")


def test_a_change_left_in_the_write_ahead_log_is_published(warehouse):
    add_event(warehouse, "e3", HALF_PAST_TWO + HOUR_MS, checkpoint_on_close=False)
    assert warehouse.with_name(warehouse.name + ".wal").exists()
    published = publish(warehouse)
    assert event_ids(published.path(warehouse)) == ["e1", "e2", "e3"]
    assert published.latest_event_hours["shop_web"] == "2026-12-07T03:00:00Z"


def test_each_publish_keeps_the_new_snapshot_and_the_one_it_replaced(warehouse):
    versions = []
    for index in range(3):
        add_event(warehouse, f"n{index}", HALF_PAST_TWO)
        versions.append(publish(warehouse).version)
    assert versions == sorted(versions) and len(set(versions)) == 3
    assert snapshots(warehouse) == [f"{version}.duckdb" for version in versions[1:]]
    assert current(warehouse).version == versions[-1]


def test_a_reader_of_a_pruned_snapshot_keeps_reading_it(warehouse):
    publish(warehouse)
    _, connection = open_published(warehouse)
    with connection:
        publish(warehouse)
        publish(warehouse)
        assert len(snapshots(warehouse)) == 2
        # Unlinked, not gone: Linux frees the file when its last descriptor closes.
        assert connection.execute("select count(*) from shop_web.ods_events").fetchone() == (2,)


def test_a_crash_before_the_pointer_moves_leaves_the_previous_snapshot_current(warehouse, monkeypatch):
    before = publish(warehouse)
    add_event(warehouse, "e3", HALF_PAST_TWO)

    def crash(*args):
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(published_warehouse, "_write_pointer", crash)
        with pytest.raises(OSError, match="disk full"):
            publish(warehouse)
    assert current(warehouse) == before
    assert len(snapshots(warehouse)) == 2  # the orphan copy
    opened, connection = open_published(warehouse)
    with connection:
        assert opened == before and connection.execute("select count(*) from shop_web.ods_events").fetchone() == (2,)
    after = publish(warehouse)
    assert snapshots(warehouse) == sorted([before.file, after.file])
    assert event_ids(after.path(warehouse)) == ["e1", "e2", "e3"]


@pytest.mark.parametrize("text", ["", "{not json", '{"version": "1"}', '{"version": "1", "file": "../x.duckdb", "published_at": ""}'])
def test_a_garbled_pointer_is_a_clear_error_until_the_next_publish(warehouse, text):
    publish(warehouse)
    pointer_path(warehouse).write_text(text)
    with pytest.raises(PublishedWarehouseError, match="pointer .*current.json is not valid"):
        current(warehouse)
    with pytest.raises(PublishedWarehouseError, match="not valid"):
        open_published(warehouse)
    published = publish(warehouse)
    assert current(warehouse) == published


def test_a_snapshot_deleted_by_hand_is_named(warehouse):
    published_path = publish(warehouse).path(warehouse)
    published_path.unlink()
    with pytest.raises(PublishedWarehouseError, match=f"{published_path} is missing"):
        open_published(warehouse)


def test_publishing_needs_a_warehouse(tmp_path):
    with pytest.raises(PublishedWarehouseError, match="no warehouse to publish"):
        publish(tmp_path / "clickstream.duckdb")
