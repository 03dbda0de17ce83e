{#- Users per day and lifecycle stage (DATA_CONTRACT §5); see macros/lifecycle_counts.sql. -#}
{{ config(**clickstream.replace_periods_config('time_period')) }}
-- depends_on: {{ ref('base_new_events') }}
-- depends_on: {{ ref('ods_events') }}
{{ lifecycle_counts('day', ref('int_lifecycle_user_periods_daily')) }}
