"""Column builders: Python values appended row by row, turned into Arrow arrays once per batch.

Element transformers (plugins/base.py) fill these instead of building a dict per row: appending
to a few flat lists and converting each list once is what makes the Python pass cheap
(~7 µs per SDK event to map, ~4 µs to convert).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema, to_arrow_type

from plugins.elements import INT64_MAX, INT64_MIN, compact_json

MAX_STRING_VALUE = 2048


def arrow_schema(schema: T.StructType) -> pa.Schema:
    return to_arrow_schema(schema)


def arrow_type(dtype: T.DataType) -> pa.DataType:
    return to_arrow_type(dtype)


class StructColumns:
    """A struct column: one list per field; ``add`` takes the values in field order, or append
    to ``columns`` directly. A field nobody appended to is all nulls (enrichments fill it)."""

    def __init__(self, dtype: T.StructType) -> None:
        self.type = arrow_type(dtype)
        self.fields = list(self.type)
        self.columns: list[list] = [[] for _ in self.fields]

    def add(self, *values: Any) -> None:
        for column, value in zip(self.columns, values):
            column.append(value)

    def array(self, rows: int) -> pa.StructArray:
        children = [
            pa.array(column, field.type) if column else pa.nulls(rows, field.type) for column, field in zip(self.columns, self.fields)
        ]
        return pa.StructArray.from_arrays(children, fields=self.fields)


class TypedKeyValues:
    """``array<struct<key, value struct<double_value, float_value, int_value, string_value
    [, set_timestamp_micros]>>>``, each value typed by its JSON type (DATA_CONTRACT §4): integer →
    int_value; other number → double_value; string → string_value (cut at 2048 characters);
    boolean → "true"/"false"; object or array → compact JSON. A JSON null is all nulls."""

    def __init__(self, dtype: T.ArrayType) -> None:
        self.type = arrow_type(dtype)
        entry = self.type.value_type
        self.entry_fields = list(entry)
        self.value_fields = list(entry.field("value").type)
        self.with_timestamp = len(self.value_fields) == 5
        self.offsets = [0]
        self.valid: list[bool] = []
        # Raw values are kept as they come and typed per column when the batch is converted:
        # list comprehensions there are much cheaper than branching on every append.
        self.keys: list[str] = []
        self.values: list[Any] = []
        self.timestamps: list[int | None] = []

    def add(self, key: str, value: Any, timestamp_micros: int | None = None) -> None:
        """One entry of the current row; call ``end_row`` after the row's last entry. Hot
        loops may append to ``keys`` and ``values`` (and ``timestamps``) directly instead."""
        self.keys.append(key)
        self.values.append(value)
        if self.with_timestamp:
            self.timestamps.append(timestamp_micros)

    def end_row(self) -> None:
        self.offsets.append(len(self.keys))
        self.valid.append(True)

    def null_row(self) -> None:
        self.offsets.append(len(self.keys))
        self.valid.append(False)

    def array(self) -> pa.ListArray:
        values = self.values
        count = len(values)
        integers = [v if type(v) is int and INT64_MIN <= v <= INT64_MAX else None for v in values]
        doubles = [v if type(v) is float else float(v) if type(v) is int and not INT64_MIN <= v <= INT64_MAX else None for v in values]
        # Short strings, most values, skip the call.
        strings = [
            v if type(v) is str and len(v) <= MAX_STRING_VALUE else None if type(v) is int or type(v) is float else _string_value(v)
            for v in values
        ]
        children = [
            pa.array(doubles, pa.float64()),
            pa.nulls(count, pa.float32()),
            pa.array(integers, pa.int64()),
            pa.array(strings, pa.string()),
        ]
        if self.with_timestamp:
            children.append(pa.array(self.timestamps, pa.int64()))
        typed = pa.StructArray.from_arrays(children, fields=self.value_fields)
        entries = pa.StructArray.from_arrays([pa.array(self.keys, pa.string()), typed], fields=self.entry_fields)
        mask = None if all(self.valid) else pa.array([not valid for valid in self.valid], pa.bool_())
        return pa.ListArray.from_arrays(pa.array(self.offsets, pa.int32()), entries, type=self.type, mask=mask)


def _string_value(value: Any) -> str | None:
    kind = type(value)
    if kind is str:
        return value if len(value) <= MAX_STRING_VALUE else value[:MAX_STRING_VALUE]
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return None
    return compact_json(value)[:MAX_STRING_VALUE]


def distinct_mapped(column: pa.Array, values_of: Callable[[str | None], tuple], width: int) -> list[pa.StringArray]:
    """``width`` string columns holding ``values_of(value)`` for each value of ``column``, with
    ``values_of`` called once per distinct value (null and "" both get ``values_of(None)``).

    Enrichments look values up by a request's context (User-Agent, address): a batch of events
    holds few distinct ones, so per-event work is done by Arrow (dictionary indices, ``take``)."""
    encoded = pc.dictionary_encode(column.cast(pa.string()))
    nothing = values_of(None)
    described = [values_of(value) if value else nothing for value in encoded.dictionary.to_pylist()]
    indices = encoded.indices
    if indices.null_count:
        indices = pc.fill_null(indices, len(described))
        described.append(nothing)
    columns = list(zip(*described)) if described else [()] * width
    return [pa.array(list(values), pa.string()).take(indices) for values in columns]


def with_struct_fields(batch: pa.RecordBatch, column: str, values: dict[str, pa.Array]) -> pa.RecordBatch:
    """``batch`` with some fields of the struct ``column`` replaced (enrichments fill fields)."""
    index = batch.schema.get_field_index(column)
    struct = batch.column(index)
    fields = list(struct.type)
    children = [values.get(field.name, struct.field(i)) for i, field in enumerate(fields)]
    mask = struct.is_null() if struct.null_count else None
    replaced = pa.StructArray.from_arrays(children, fields=fields, mask=mask)
    return batch.set_column(index, batch.schema.field(index), replaced)
