{#-
  The event catalogue's building blocks (models/marts/clickstream_catalogue_*).

  key_value_type: the observed type of an unnested key/value element (event_params,
  user_properties): the name of its typed field that is set, in the product's order (string,
  int, float, double, as key_value_text reads them); 'none' when no field is set.
-#}
{% macro key_value_type(alias) -%}
    case
        when {{ alias }}.value.string_value is not null then 'string'
        when {{ alias }}.value.int_value is not null then 'int'
        when {{ alias }}.value.float_value is not null then 'float'
        when {{ alias }}.value.double_value is not null then 'double'
        else 'none'
    end
{%- endmacro %}

{#- The catalogue's rows of one kind of key/value array (event_params or user_properties) of
    `events` (a CTE of ods_events rows): one row per event and element, with the element's key,
    observed type and value as text. User attributes are not tied to an event: their
    event_name is ''. -#}
{% macro catalogue_elements(events, kind, column) -%}
    select
        e.event_date,
        cast('{{ kind }}' as {{ dbt.type_string() }}) as kind,
        {% if kind == 'user_attribute' %}cast('' as {{ dbt.type_string() }}){% else %}e.event_name{% endif %} as event_name,
        cast(kv.key as {{ dbt.type_string() }}) as property_key,
        cast({{ clickstream.key_value_type('kv') }} as {{ dbt.type_string() }}) as value_type,
        {{ clickstream.key_value_text('kv') }} as property_value,
        coalesce(e.platform, '') as platform,
        e.user_pseudo_id
    from {{ events }} as e
    {{ clickstream.unnest_key_values('e.' ~ column, 'kv') }}
{%- endmacro %}

{#- The first day of the catalogue's 30-day window: 29 days before the newest event date, so
    the window holds 30 days including it. -#}
{% macro catalogue_window_start(newest_date) -%}
    cast({{ dbt.dateadd('day', -29, newest_date) }} as date)
{%- endmacro %}
