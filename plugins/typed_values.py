"""Typed key/value structs from JSON values, by the JSON type (DATA_CONTRACT §4, "Our rules").

Values arrive as Spark VARIANTs, so each keeps the type it had in the JSON text: integer →
``int_value``; any other number → ``double_value``; string → ``string_value`` (truncated at
2048 characters); boolean → ``"true"``/``"false"``; object or array → compact JSON. A value
that fits no rule becomes all nulls for that key alone, never for the whole array.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

MAX_STRING_VALUE = 2048

VALUE_TYPE = T.StructType(
    [
        T.StructField("double_value", T.DoubleType()),
        T.StructField("float_value", T.FloatType()),
        T.StructField("int_value", T.LongType()),
        T.StructField("string_value", T.StringType()),
    ]
)
KV_TYPE = T.StructType([T.StructField("key", T.StringType()), T.StructField("value", VALUE_TYPE)])

USER_VALUE_TYPE = T.StructType([*VALUE_TYPE.fields, T.StructField("set_timestamp_micros", T.LongType())])
USER_KV_TYPE = T.StructType([T.StructField("key", T.StringType()), T.StructField("value", USER_VALUE_TYPE)])

_INTEGER_TYPES = ["TINYINT", "SMALLINT", "INT", "BIGINT"]


def typed_value(value: Column, json_type: Column | None = None) -> Column:
    """A ``struct<double_value, float_value, int_value, string_value>`` for one VARIANT value.
    Pass ``json_type`` (its ``schema_of_variant``) when it was computed already: inside lambdas
    Spark does not share subexpressions, and the type is tested up to six times."""
    json_type = F.schema_of_variant(value) if json_type is None else json_type
    is_integer = json_type.isin(_INTEGER_TYPES)
    is_number = json_type.startswith("DECIMAL") | json_type.isin("DOUBLE", "FLOAT")
    as_string = F.when(json_type == F.lit("STRING"), F.substring(F.try_variant_get(value, "$", "string"), 1, MAX_STRING_VALUE))
    as_string = as_string.when(json_type == F.lit("BOOLEAN"), F.try_variant_get(value, "$", "string"))
    as_string = as_string.when(
        json_type.startswith("OBJECT") | json_type.startswith("ARRAY"),
        F.substring(F.to_json(value), 1, MAX_STRING_VALUE),
    )
    return F.struct(
        F.when(is_number, F.try_variant_get(value, "$", "double")).alias("double_value"),
        F.lit(None).cast("float").alias("float_value"),
        F.when(is_integer, F.try_variant_get(value, "$", "bigint")).alias("int_value"),
        as_string.alias("string_value"),
    )


def _with_json_type(entries: Column) -> Column:
    """Each ``struct<key, value>`` gains its value's JSON type, computed once."""
    return F.transform(
        entries,
        lambda entry: F.struct(
            entry["key"].alias("key"), entry["value"].alias("value"), F.schema_of_variant(entry["value"]).alias("json_type")
        ),
    )


def kv_array(entries: Column, keep=lambda key: F.lit(True)) -> Column:
    """``map<string, variant>`` → ``array<struct<key, value>>`` sorted by key, so output rows
    are byte-identical across runs whatever order the client serialised its object in."""
    kept = _with_json_type(F.filter(F.map_entries(entries), lambda entry: keep(entry["key"])))
    typed = F.transform(
        kept,
        lambda entry: F.struct(entry["key"].alias("key"), typed_value(entry["value"], entry["json_type"]).alias("value")),
    )
    return F.array_sort(typed).cast(T.ArrayType(KV_TYPE))


def user_kv_array(entries: Column, keep=lambda key: F.lit(True)) -> Column:
    """User attributes are ``{"name": {"value": v, "set_timestamp": ms}}``; micros = ms × 1000."""
    kept = F.filter(F.map_entries(entries), lambda entry: keep(entry["key"]))
    # The inner value is extracted once, then typed once (see typed_value).
    unwrapped = F.transform(
        kept,
        lambda entry: F.struct(
            entry["key"].alias("key"),
            F.try_variant_get(entry["value"], "$.value", "variant").alias("value"),
            (F.try_variant_get(entry["value"], "$.set_timestamp", "bigint") * F.lit(1000)).alias("micros"),
        ),
    )

    def to_struct(entry: Column) -> Column:
        typed = typed_value(entry["value"], entry["json_type"])
        return F.struct(
            entry["key"].alias("key"),
            F.struct(
                typed["double_value"].alias("double_value"),
                typed["float_value"].alias("float_value"),
                typed["int_value"].alias("int_value"),
                typed["string_value"].alias("string_value"),
                entry["micros"].alias("set_timestamp_micros"),
            ).alias("value"),
        )

    typed_entries = F.transform(
        unwrapped,
        lambda entry: F.struct(
            entry["key"].alias("key"),
            entry["value"].alias("value"),
            entry["micros"].alias("micros"),
            F.schema_of_variant(entry["value"]).alias("json_type"),
        ),
    )
    return F.array_sort(F.transform(typed_entries, to_struct)).cast(T.ArrayType(USER_KV_TYPE))
