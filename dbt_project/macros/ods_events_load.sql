{#-
  How ods_events is held. DuckDB and Redshift copy the app's events into a table and append
  the events of each run (int_new_events, already deduplicated against the table).

  Redshift appends from the staging table that COPY fills (macros/ods_events_source.sql) into
  a local table with SUPER for the nested columns, distributed by user (sessions, paths and
  user tables are computed per user) and sorted by date (incremental range scans and the
  data-range cleanup); the staging table is emptied once appended.

  Athena keeps one table over the Parquet per project (DATA_CONTRACT §5): the app's
  ods_events is a view over it that keeps the first arrival of each event_id.
-#}
{% macro ods_events_config() -%}
    {{ return(adapter.dispatch('ods_events_config', 'clickstream')()) }}
{%- endmacro %}

{% macro default__ods_events_config() -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'append'}) }}
{%- endmacro %}

{% macro redshift__ods_events_config() -%}
    {#- Only this app's rows leave the project's staging table. -#}
    {%- set emptied = 'delete from ' ~ source('ods', 'ods_events') ~ ' where app_info.app_id::varchar = ' ~ clickstream.sql_string(var('app_id') | trim) -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'append',
               'dist': 'user_pseudo_id', 'sort': ['event_date', 'event_timestamp'],
               'post_hook': [emptied]}) }}
{%- endmacro %}

{% macro athena__ods_events_config() -%}
    {{ return({'materialized': 'view'}) }}
{%- endmacro %}


{% macro ods_events_select() -%}
    {{ return(adapter.dispatch('ods_events_select', 'clickstream')()) }}
{%- endmacro %}

{% macro default__ods_events_select() -%}
{#- int_new_events is already free of loaded ids when it was rebuilt in the same run; the check
    keeps a run that selects ods_events alone (a re-materialization in Dagster) from appending
    the last batch twice. It only looks at the batch's dates. -#}
select
    {{ ods_events_columns() }}
from {{ ref('int_new_events') }} as new_events
{%- if clickstream.incremental_run() %}
where not exists (
    select 1
    from {{ this }} as loaded
    where loaded.event_date >= (select min(event_date) from {{ ref('int_new_events') }})
        and loaded.event_id = new_events.event_id
)
{%- endif %}
{%- endmacro %}

{% macro athena__ods_events_select() -%}
with ranked as (

    select
        *,
        row_number() over (
            partition by event_id
            order by ingest_timestamp asc, event_timestamp asc
        ) as arrival_rank
    from {{ ref('stg_ods_events') }}

)

select
    {{ ods_events_columns() }}
from ranked
where arrival_rank = 1
{%- endmacro %}


{#- int_new_events is a table rebuilt on every run. Athena's ods_events reads the Parquet
    directly and nothing reads int_new_events there: a view costs nothing. -#}
{% macro new_events_config() -%}
    {{ return(adapter.dispatch('new_events_config', 'clickstream')()) }}
{%- endmacro %}

{% macro default__new_events_config() -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}

{% macro athena__new_events_config() -%}
    {{ return({'materialized': 'view'}) }}
{%- endmacro %}
