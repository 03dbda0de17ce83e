{#- One row per user and active week (from _session_start) with its lifecycle stage and the
    period its churn counts in; see macros/lifecycle_counts.sql. -#}
{{ config(**clickstream.upsert_config(['user_pseudo_id', 'time_period'])) }}
-- depends_on: {{ ref('base_new_events') }}
-- depends_on: {{ ref('ods_events') }}
{{ lifecycle_user_periods('week') }}
