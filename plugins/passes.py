"""The job's single Python pass: raw records → decoded, cleaned, (mapped) rows, as Arrow batches.

One ``mapInArrow`` over the raw records does all per-event Python work at once: parse the
record, decode and parse its body, check every element (plugins/elements.py) and, when the
transformer is an element transformer (the SDK one is), map it to ``ods_events`` columns. Each
output row has a ``_kind``:

- ``event``: a good element (mapped, or its compact JSON in ``event`` for DataFrame transformers);
- ``quarantine``: a bad request or element, with ``reason``, ``app_id`` and the ``raw`` input;
- ``request``: one per raw record, carrying nothing else, so the run can count requests from the
  same materialised output instead of reading the raw files twice.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clickstream_contract.request_body import parse_json
from plugins.arrow_columns import arrow_schema
from plugins.elements import UNDECODABLE, Request, Rules, compact_json, elements_of, request_of
from plugins.ods_schema import CONTEXT_COLUMNS, ODS_EVENTS_SCHEMA

if TYPE_CHECKING:
    # Annotations only: the plugin interface imports this module (an element transformer's
    # DataFrame form runs through the pass), so the pass must not import it back.
    from plugins.base import ElementEnrichment, ElementTransformer

EVENT, QUARANTINE, REQUEST = "event", "quarantine", "request"
# Output batches of this many events: big enough for cheap Arrow conversion, small enough that
# two workers' Python objects stay well under a gigabyte.
EVENTS_PER_BATCH = 4096

_S, _L = T.StringType(), T.LongType()
QUARANTINE_FIELDS = [T.StructField("reason", _S), T.StructField("app_id", _S), T.StructField("raw", _S)]
CONTEXT_FIELDS = [T.StructField(name, _S) for name in CONTEXT_COLUMNS]
# For DataFrame transformers: the cleaned element and its request, as plugins/README.md lists.
CLEANED_FIELDS = [
    T.StructField("ingest_time", _L), T.StructField("uri", _S), T.StructField("method", _S), T.StructField("event", _S),
]  # fmt: skip


def pass_schema(mapped: bool) -> T.StructType:
    middle = ODS_EVENTS_SCHEMA.fields if mapped else CLEANED_FIELDS
    return T.StructType([T.StructField("_kind", _S), *middle, *CONTEXT_FIELDS, *QUARANTINE_FIELDS])


def _raw_records(batch: pa.RecordBatch) -> Iterator[tuple[dict | None, str | None, str]]:
    """(record or None when the line is not a JSON object, the line as read, arrival hour).

    The job reads raw files as text lines (cheaper than Spark's JSON reader, and a corrupt line
    is quarantined instead of becoming a row of nulls); tests pass typed raw columns."""
    hours = batch.column("ingest_hour").to_pylist()
    names = batch.schema.names
    if "value" in names:
        for line, hour in zip(batch.column("value").to_pylist(), hours):
            if not line or line.isspace():
                continue
            try:
                # The rules of a body apply to the record too: ingestion writes a record holding
                # a lone surrogate with it escaped (ingestion/records.py).
                record = parse_json(line)
            except ValueError:
                record = None
            yield (record if type(record) is dict else None), line, hour
        return
    columns = [name for name in names if name != "ingest_hour"]
    for values, hour in zip(zip(*(batch.column(name).to_pylist() for name in columns)), hours):
        yield dict(zip(columns, values)), None, hour


class _Output:
    """Collects rows of the pass and hands them out as Arrow record batches."""

    def __init__(self, transformer: ElementTransformer | None) -> None:
        self.transformer = transformer
        self.schema = arrow_schema(pass_schema(transformer is not None))
        self._new_events()
        self.other: list[tuple] = []  # (kind, hour, rid, ip, ua, reason, app_id, raw)

    def _new_events(self) -> None:
        self.context: list[tuple] = []  # (hour, rid, ip, ua)
        if self.transformer is not None:
            self.events = self.transformer.batch()
        else:
            self.cleaned: list[tuple] = []  # (ingest_time, uri, method, event json)

    def event(self, element: Any, request: Request) -> None:
        if self.transformer is not None:
            self.events.add(element, request)
        else:
            self.cleaned.append((request.ingest_time, request.uri, request.method, compact_json(element)))
        self.context.append((request.ingest_hour, request.rid, request.ip, request.ua))

    def event_count(self) -> int:
        return len(self.context)

    def event_batch(self) -> pa.RecordBatch:
        rows = len(self.context)
        if self.transformer is not None:
            middle = self.events.arrays()
        else:
            middle = (
                [
                    pa.array(list(column), field.type)
                    for column, field in zip(zip(*self.cleaned), [self.schema.field(i) for i in range(1, 5)])
                ]
                if rows
                else [pa.array([], self.schema.field(i).type) for i in range(1, 5)]
            )
        context = [pa.array(list(column), pa.string()) for column in zip(*self.context)] if rows else [pa.array([], pa.string())] * 4
        arrays = [pa.array([EVENT] * rows, pa.string()), *middle, *context, *(pa.nulls(rows, pa.string()) for _ in range(3))]
        self._new_events()
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def other_batch(self) -> pa.RecordBatch:
        rows = len(self.other)
        columns = list(zip(*self.other))
        width = len(self.schema) - 1 - 4 - 3
        middle = [pa.nulls(rows, self.schema.field(1 + i).type) for i in range(width)]
        arrays = [pa.array(list(columns[0]), pa.string()), *middle, *(pa.array(list(column), pa.string()) for column in columns[1:])]
        self.other = []
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


def run_pass(
    batches: Iterator[pa.RecordBatch],
    rules: Rules,
    transformer: ElementTransformer | None,
    enrichments: Sequence[ElementEnrichment] = (),
) -> Iterator[pa.RecordBatch]:
    """The pass on Arrow batches of raw records, as ``mapInArrow`` calls it (see element_pass).

    Whatever a record holds, it yields a ``request`` row and, for each element, an event row or
    a quarantine entry (or one entry for the whole record): bad input never raises here, or it
    would fail every record of the hour (tests/processing/test_hostile_input.py)."""
    # The pass allocates millions of small objects and frees them by reference counting; the
    # cyclic collector would only rescan them (a third of the pass's time when enabled).
    gc.disable()
    try:
        output = _Output(transformer)

        def events() -> pa.RecordBatch:
            batch = output.event_batch()
            for enrichment in enrichments:
                batch = enrichment.enrich_batch(batch)
            return batch

        for batch in batches:
            for record, line, hour in _raw_records(batch):
                if record is None:
                    output.other.append((QUARANTINE, hour, None, None, None, UNDECODABLE, None, line))
                    output.other.append((REQUEST, hour, None, None, None, None, None, None))
                    continue
                request = request_of(record, hour)
                output.other.append((REQUEST, hour, request.rid, None, None, None, None, None))
                elements, reason = elements_of(record)
                if elements is None:
                    raw = line if line is not None else orjson.dumps(record, default=str).decode()
                    output.other.append((QUARANTINE, hour, request.rid, request.ip, request.ua, reason, request.app_id, raw))
                    continue
                for element in elements:
                    reason, app_id = rules.check(element, request.ingest_time)
                    if reason is None:
                        output.event(element, request)
                        if output.event_count() >= EVENTS_PER_BATCH:
                            yield events()
                    else:
                        output.other.append((QUARANTINE, hour, request.rid, request.ip, request.ua, reason, app_id, compact_json(element)))
            if output.other:
                yield output.other_batch()
        if output.event_count():
            yield events()
    finally:
        gc.enable()


def element_pass(
    raw: DataFrame,
    rules: Rules,
    transformer: ElementTransformer | None = None,
    enrichments: Sequence[ElementEnrichment] = (),
) -> DataFrame:
    """Raw records (``value`` text lines or typed raw columns, plus ``ingest_hour``) → the pass's
    rows (see the module docstring); mapped to ``ods_events`` columns when ``transformer`` is
    given, then enriched by ``enrichments`` (which need a transformer)."""
    if enrichments and transformer is None:
        raise ValueError("element enrichments run in the pass only after an element transformer")
    schema = pass_schema(transformer is not None)
    return raw.mapInArrow(lambda batches: run_pass(batches, rules, transformer, enrichments), schema)


def _transform_batches(batches: Iterator[pa.RecordBatch], transformer: ElementTransformer) -> Iterator[pa.RecordBatch]:
    schema = arrow_schema(T.StructType([*ODS_EVENTS_SCHEMA.fields, *CONTEXT_FIELDS]))
    gc.disable()
    try:
        for batch in batches:
            events = transformer.batch()
            columns = {name: batch.column(name).to_pylist() for name in ("event", "ingest_time", "uri", "method", *CONTEXT_COLUMNS)}
            for i, text in enumerate(columns["event"]):
                request = Request(
                    columns["ingest_hour"][i], columns["ingest_time"][i], columns["uri"][i], columns["_rid"][i],
                    columns["_ip"][i], columns["_ua"][i], columns["method"][i], None,
                )  # fmt: skip
                events.add(parse_json(text) if text is not None else None, request)
            context = [pa.array(columns[name], pa.string()) for name in CONTEXT_COLUMNS]
            yield pa.RecordBatch.from_arrays([*events.arrays(), *context], schema=schema)
    finally:
        gc.enable()


def transform_cleaned(df: DataFrame, transformer: ElementTransformer) -> DataFrame:
    """An element transformer on a DataFrame shaped like the cleaning output (``event`` a
    VARIANT or JSON text, plus the request columns)."""
    event = F.col("event")
    if isinstance(df.schema["event"].dataType, T.VariantType):
        event = F.to_json(event)
    inputs = df.select(
        event.alias("event"),
        F.col("ingest_time").cast("bigint"),
        "uri",
        "method",
        *[F.col(name).cast("string") for name in CONTEXT_COLUMNS],
    )
    schema = T.StructType([*ODS_EVENTS_SCHEMA.fields, *CONTEXT_FIELDS])
    return inputs.mapInArrow(lambda batches: _transform_batches(batches, transformer), schema)
