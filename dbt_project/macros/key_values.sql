{#-
  One row per element of a key/value array column (event_params, user_properties):
      from {{ ref('ods_events') }} as e {{ unnest_key_values('e.event_params', 'kv') }}
  then kv.key and kv.value.<type>_value name the element's fields on every warehouse.
-#}
{% macro unnest_key_values(column, alias) -%}
    {{ return(adapter.dispatch('unnest_key_values', 'clickstream')(column, alias)) }}
{%- endmacro %}

{% macro default__unnest_key_values(column, alias) -%}
    cross join unnest({{ column }}) as t_{{ alias }}({{ alias }})
{%- endmacro %}

{% macro athena__unnest_key_values(column, alias) -%}
    {#- Trino spreads the fields of an unnested row over columns: name them key and value. -#}
    cross join unnest({{ column }}) as {{ alias }}(key, value)
{%- endmacro %}

{% macro redshift__unnest_key_values(column, alias) -%}
    {#- PartiQL navigation of a SUPER array: the array becomes a table in the FROM list. -#}
    , {{ column }} as {{ alias }}
{%- endmacro %}


{#- The same rows as a FROM item, for a model that reads only ``columns`` of the relation beside the
    array: ``from {{ key_value_rows('events', 'e', 'e.event_params', 'kv', ['event_id']) }}``, then
    e.<column>, kv.key and kv.value.<type>_value. -#}
{% macro key_value_rows(relation, relation_alias, column, alias, columns) -%}
    {{ return(adapter.dispatch('key_value_rows', 'clickstream')(relation, relation_alias, column, alias, columns)) }}
{%- endmacro %}

{% macro default__key_value_rows(relation, relation_alias, column, alias, columns) -%}
    {{ relation }} as {{ relation_alias }} {{ unnest_key_values(column, alias) }}
{%- endmacro %}

{% macro duckdb__key_value_rows(relation, relation_alias, column, alias, columns) -%}
    {#- unnest in a select list, not a lateral cross join: DuckDB plans the lateral join by
        deduplicating every outer row first, which made 30 days of the benchmark's attributes
        (13M rows) take 83 s to filter by key instead of 0.9 s. -#}
    (
        select {% for name in columns %}{{ name }}, {% endfor %}unnest({{ column.split('.')[-1] }}) as {{ alias }}
        from {{ relation }}
    ) as {{ relation_alias }}
{%- endmacro %}


{#- The value of an unnested key/value element as text: the first non-empty of its typed
    fields, in the product's order (string, int, float, double). -#}
{% macro key_value_text(alias) -%}
    {{ return(adapter.dispatch('key_value_text', 'clickstream')(alias)) }}
{%- endmacro %}

{% macro default__key_value_text(alias) -%}
    coalesce(
        nullif({{ alias }}.value.string_value, ''),
        cast({{ alias }}.value.int_value as {{ dbt.type_string() }}),
        cast({{ alias }}.value.float_value as {{ dbt.type_string() }}),
        cast({{ alias }}.value.double_value as {{ dbt.type_string() }})
    )
{%- endmacro %}

{% macro redshift__key_value_text(alias) -%}
    coalesce(
        nullif({{ alias }}.value.string_value::varchar, ''),
        {{ alias }}.value.int_value::bigint::varchar,
        {{ alias }}.value.float_value::float::varchar,
        {{ alias }}.value.double_value::float8::varchar
    )
{%- endmacro %}


{#- The value of one key of a key/value array column as text (key_value_text's rule), null when
    the array has no such key: key_value_text_of('e.event_dimensions', 'sdk_version'). A value
    sent with another JSON type than expected (a number for a version) still reads as text. -#}
{% macro key_value_text_of(column, key) -%}
    {{ return(adapter.dispatch('key_value_text_of', 'clickstream')(column, key)) }}
{%- endmacro %}

{% macro default__key_value_text_of(column, key) -%}
    (select {{ clickstream.key_value_text('p') }} from unnest({{ column }}) as t(p) where p.key = '{{ key }}' limit 1)
{%- endmacro %}

{% macro duckdb__key_value_text_of(column, key) -%}
    list_transform(list_filter({{ column }}, lambda p: p.key = '{{ key }}'), lambda p: {{ clickstream.key_value_text('p') }})[1]
{%- endmacro %}

{% macro athena__key_value_text_of(column, key) -%}
    element_at(transform(filter({{ column }}, p -> p.key = '{{ key }}'), p -> {{ clickstream.key_value_text('p') }}), 1)
{%- endmacro %}

{% macro redshift__key_value_text_of(column, key) -%}
    (select {{ clickstream.key_value_text('p') }} from {{ column }} as p where p.key = '{{ key }}' limit 1)
{%- endmacro %}
