{#-
  Data range: delete hot data older than `data_range_days` days from the app's tables (the
  product's Redshift "data range"; its seed solution's cleanup never deleted anything).
  Dimensions (dim_users, first visits) are kept: a user's first visit stays the first visit.

    dbt run-operation delete_expired_data --args '{data_range_days: 30, reference_date: "2024-01-31"}'

  deletes rows dated before reference_date - 30 days (reference_date defaults to today, UTC).
  After every `dbt run`/`dbt build` the on-run-end hook does the same with the var
  `data_range_days` when it is set.
-#}

{#- The dated tables and the column that dates each row. -#}
{% macro expiring_tables() -%}
    {{ return({
        'ods_events': 'event_date',
        'clickstream_session_view': 'session_date',
        'clickstream_path_view': 'event_date',
        'clickstream_path_nodes': 'last_event_date',
        'clickstream_page_views_quarter_hourly': 'event_date',
        'clickstream_device_view': 'event_date',
        'int_user_days': 'activity_date',
        'int_lifecycle_user_periods_daily': 'time_period',
        'int_lifecycle_user_periods_weekly': 'time_period',
        'clickstream_lifecycle_daily_view': 'time_period',
        'clickstream_lifecycle_weekly_view': 'time_period',
        'clickstream_retention_view': 'first_date',
        'clickstream_user_active_quarter_hours': 'event_date',
        'clickstream_event_counts_quarter_hourly': 'event_date',
        'clickstream_event_attribute_counts_quarter_hourly': 'event_date',
        'clickstream_catalogue_daily': 'event_date',
        'clickstream_catalogue_values_daily': 'event_date',
        'clickstream_catalogue_users': 'last_event_date',
    }) }}
{%- endmacro %}

{% macro delete_expired_data(data_range_days=none, reference_date=none, commit=true) -%}
    {%- set days = data_range_days if data_range_days is not none else var('data_range_days') -%}
    {%- if days is none -%}
        {{ exceptions.raise_compiler_error("delete_expired_data: no data range; pass data_range_days or set the var data_range_days") }}
    {%- endif -%}
    {%- set cutoff = clickstream.data_range_start(days, reference_date) -%}
    {%- set schema = generate_schema_name('app', none) | trim -%}
    {%- for table, date_column in clickstream.expiring_tables().items() -%}
        {%- set relation = adapter.get_relation(database=target.database, schema=schema, identifier=table) -%}
        {#- Athena's ods_events is a view over the project's Parquet, which the lake's own
            lifecycle rules expire. -#}
        {%- if relation is not none and relation.type == 'table' -%}
            {%- set statement -%}
                delete from {{ relation }} where {{ date_column }} < {{ date_literal(cutoff) }}
            {%- endset -%}
            {%- do run_query(statement) -%}
            {%- do log("data range: deleted rows of " ~ relation ~ " dated before " ~ cutoff, info=true) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if commit -%}
        {%- do clickstream.commit_open_transaction() -%}
    {%- endif -%}
{%- endmacro %}

{#- run_query opens a transaction on transactional warehouses and, in a run-operation,
    nothing commits it (dbt commits the statements of hooks itself). -#}
{% macro commit_open_transaction() -%}
    {{ return(adapter.dispatch('commit_open_transaction', 'clickstream')()) }}
{%- endmacro %}

{% macro default__commit_open_transaction() -%}
    {%- do run_query('commit') -%}
{%- endmacro %}

{% macro athena__commit_open_transaction() -%}
    {#- Athena has no transactions: every statement is final. -#}
{%- endmacro %}

{#- The first date kept: reference_date (default today, UTC) minus `days` days; none when there
    is no data range. -#}
{% macro data_range_start(days=var('data_range_days'), reference_date=none) -%}
    {%- if days is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set today = modules.datetime.date.fromisoformat(reference_date) if reference_date else modules.datetime.datetime.utcnow().date() -%}
    {{ return((today - modules.datetime.timedelta(days=days | int)).isoformat()) }}
{%- endmacro %}

{% macro delete_expired_data_on_run_end() -%}
    {%- if execute and var('data_range_days') is not none and flags.WHICH in ('run', 'build') -%}
        {%- do clickstream.delete_expired_data(commit=false) -%}
    {%- endif -%}
{%- endmacro %}
