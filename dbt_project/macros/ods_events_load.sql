{#-
  How ods_events is held. DuckDB and Redshift copy the app's events into a table and append
  the events of each run (base_new_events, already deduplicated against the table).

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
{#- base_new_events is already free of loaded ids when it was rebuilt in the same run; the check
    keeps a run that selects ods_events alone (a re-materialization in Dagster) from appending
    the last batch twice. It only looks at the batch's dates. -#}
select
    {{ ods_events_columns() }}
from {{ ref('base_new_events') }} as new_events
{%- if is_incremental() %}
where not exists (
    select 1
    from {{ this }} as loaded
    where loaded.event_date >= (select min(event_date) from {{ ref('base_new_events') }})
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


{#-
  What base_new_events reads again, from the app's ods_events as loaded before this run:
    relation      the loaded table
    load_since    'YYYY-MM-DD', `ods_lookback_days` before the newest loaded event_date: late
                  events land in older partitions
    ingest_floor  epoch ms, `lookback_window_hours` before the newest loaded arrival: hours
                  processed out of order
  or none on the first run, on a full refresh, when the table is empty, and where ods_events
  is a view over the Parquet (Athena) rather than a table events are loaded into. Looked up
  without ref(): ods_events reads base_new_events, so a ref would make a cycle.

  Dispatched so that a project using this one can replace it: the offline checks of the
  Redshift and Athena SQL (tests/modeling/offline_compile/) describe a made-up loaded table.
-#}
{% macro loaded_ods_events() -%}
    {{ return(adapter.dispatch('loaded_ods_events', 'clickstream')()) }}
{%- endmacro %}

{% macro default__loaded_ods_events() -%}
    {%- if not execute or flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set relation = adapter.get_relation(database=this.database, schema=this.schema, identifier='ods_events') -%}
    {%- if relation is none or relation.type != 'table' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set newest = run_query('select cast(max(event_date) as ' ~ dbt.type_string() ~ '), max(ingest_timestamp) from ' ~ relation).rows[0] -%}
    {%- if newest[0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set newest_date = modules.datetime.date.fromisoformat(newest[0]) -%}
    {{ return({
        'relation': relation,
        'load_since': (newest_date - modules.datetime.timedelta(days=var('ods_lookback_days'))).isoformat(),
        'ingest_floor': (newest[1] | int) - var('lookback_window_hours') * 3600 * 1000,
    }) }}
{%- endmacro %}


{#- base_new_events is a table rebuilt on every run. Athena's ods_events reads the Parquet
    directly and nothing reads base_new_events there: a view costs nothing. -#}
{% macro new_events_config() -%}
    {{ return(adapter.dispatch('new_events_config', 'clickstream')()) }}
{%- endmacro %}

{% macro default__new_events_config() -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}

{% macro athena__new_events_config() -%}
    {{ return({'materialized': 'view'}) }}
{%- endmacro %}
