{#-
  The app's event table (DATA_CONTRACT §4 columns, in order), one row per event_id across
  everything loaded (SDK retries, replayed archives, re-run hours): the Spark job removes
  duplicates within what it processed, base_new_events across runs. See
  macros/ods_events_load.sql for how each warehouse holds it.
-#}
{{ config(**clickstream.ods_events_config()) }}
-- depends_on: {{ ref('base_new_events') }}

{{ clickstream.ods_events_select() }}
