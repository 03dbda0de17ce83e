"""The job's pure transform (plugins/transform.py) on inline raw frames: no files, no locks.

What it returns is what the load writes and the run report counts: each good event once (the
earliest arrival), the quarantine with its reasons, and the counts by kind, reason and app.
"""

from __future__ import annotations

import json

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from plugins.base import Enrichment, Transformer
from plugins.elements import Rules
from plugins.sdk_transformer import SdkTransformer
from plugins.transform import Counts, transform
from tests.processing.conftest import INGEST_MS, event, raw_record

pytestmark = pytest.mark.spark
APPS = ["shop_android", "shop_web"]
SDK = SdkTransformer(project_id="proj")
DAY = 86_400_000


def batch_of(raw_frame, records, transformer=SDK, enrichments=()):
    return transform(raw_frame(records), Rules.of(transformer, APPS), transformer, enrichments)


def test_a_batch_becomes_unique_events_quarantine_and_counts(spark, raw_frame):
    records = [
        raw_record(json.dumps([event("a"), event("stale", timestamp=INGEST_MS - 4 * DAY), {"event_id": "no-app"}]), rid="r1"),
        raw_record(json.dumps([event("w", app_id="shop_web"), event("x", app_id="other_app")]), app_id="shop_web", rid="r2"),
        # An SDK retry of "a", arrived later: the first arrival is kept.
        raw_record(json.dumps([event("a")]), rid="r3", ingest_time=INGEST_MS + 1000),
        raw_record("garbage", compression="gzip", rid="r4"),
    ]
    batch = batch_of(raw_frame, records)

    assertDataFrameEqual(
        batch.events.select("event_id", "app_info.app_id", "_rid"),
        spark.createDataFrame([("a", "shop_android", "r1"), ("w", "shop_web", "r2")], "event_id string, app_id string, _rid string"),
    )
    assertDataFrameEqual(
        batch.quarantine.select("reason", "rid", "app_id"),
        spark.createDataFrame(
            [
                ("stale_event", "r1", "shop_android"),
                ("missing_required_field", "r1", None),
                ("unknown_app", "r2", "other_app"),
                ("undecodable", "r4", "shop_android"),
            ],
            "reason string, rid string, app_id string",
        ),
    )
    assert batch.counts == Counts(
        requests=4,
        quarantined={"stale_event": 1, "missing_required_field": 1, "unknown_app": 1, "undecodable": 1},
        events_by_app={"shop_android": 2, "shop_web": 1},
        duplicates_by_app={"shop_android": 1},
    )
    # What the load needs to find copies written by earlier runs: every good event's keys, the
    # repeat included, and which rows were repeats.
    assert sorted(row["event_id"] for row in batch.keys.collect()) == ["a", "a", "w"]
    assert [row["partition_app"] for row in batch.duplicates.collect()] == ["shop_android"]


def test_repeats_keep_the_earliest_arrival_then_the_lowest_request_id(spark, raw_frame):
    records = [
        raw_record(json.dumps([event("a", attributes={"n": 3})]), rid="r3", ingest_time=INGEST_MS + 5),
        raw_record(json.dumps([event("a", attributes={"n": 2})]), rid="r2", ingest_time=INGEST_MS),
        raw_record(json.dumps([event("a", attributes={"n": 1})]), rid="r1", ingest_time=INGEST_MS),
    ]
    batch = batch_of(raw_frame, records)

    assertDataFrameEqual(batch.events.select("event_id", "_rid"), spark.createDataFrame([("a", "r1")], "event_id string, _rid string"))
    assert batch.counts.duplicates_by_app == {"shop_android": 2}


def test_dataframe_enrichments_see_each_event_once(spark, raw_frame):
    class Tagged(Enrichment):
        def transform(self, df):
            return df.withColumn("platform", F.concat(F.lit("seen "), F.count("*").over(_whole_frame()).cast("string")))

    records = [raw_record(json.dumps([event("a"), event("b")]), rid="r1"), raw_record(json.dumps([event("a")]), rid="r2")]
    batch = batch_of(raw_frame, records, enrichments=[Tagged()])

    assertDataFrameEqual(
        batch.events.select("event_id", "platform"),
        spark.createDataFrame([("a", "seen 2"), ("b", "seen 2")], "event_id string, platform string"),
    )


def test_a_dataframe_transformer_gives_the_same_batch_as_an_element_transformer(raw_frame):
    class SdkOnFrames(Transformer):
        """The SDK mapping in its DataFrame form: gets the cleaned elements as a frame."""

        def transform(self, df):
            return SDK.transform(df)

    records = [
        raw_record(json.dumps([event("a", attributes={"n": 1, "s": "t"}), event("b", app_id="unknown")]), rid="r1"),
        raw_record(json.dumps([event("a")]), rid="r2", ingest_time=INGEST_MS + 1),
        raw_record("[", rid="r3"),
    ]
    element, frame = batch_of(raw_frame, records), batch_of(raw_frame, records, transformer=SdkOnFrames())

    assertDataFrameEqual(frame.events.drop("_row"), element.events.drop("_row"))
    assertDataFrameEqual(frame.quarantine, element.quarantine)
    assert frame.counts == element.counts


def test_no_records_no_events(raw_frame):
    batch = batch_of(raw_frame, [])

    assert batch.events.count() == 0 and batch.quarantine.count() == 0
    assert batch.counts == Counts(requests=0, quarantined={}, events_by_app={}, duplicates_by_app={})


def _whole_frame():
    from pyspark.sql import Window

    return Window.partitionBy().rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
