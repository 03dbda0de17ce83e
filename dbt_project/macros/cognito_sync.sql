{#-
  Amazon Cognito Streams records in ods_events (plugins/examples/cognito_sync.py writes one
  event per changed key: platform 'Cognito', event_name cognito_sync_<op>, the record's fields
  as event params). The Cognito models read them through these macros, so the mapping from
  params to the sample connector's cognito_raw_data columns has one home.

  The models are built only for apps fed by a Cognito source: the var `cognito_streams` (true
  in that app's build). In any other app they select nothing, without reading ods_events or
  asking the warehouse for the new-events window, so an SDK-only project pays for an empty
  table per build and nothing else.
-#}
{% macro cognito_streams_enabled() -%}
    {{ return(var('cognito_streams') in [true, 'true', 'True', 1]) }}
{%- endmacro %}

{#- The condition on ods_events rows that are Cognito sync changes of an identified key (the
    seed's query joins on identity, dataset and key, so a row without one of them never counts). -#}
{% macro cognito_sync_condition() -%}
    {%- if clickstream.cognito_streams_enabled() -%}
        platform = 'Cognito'
        and event_name like 'cognito_sync_%'
        and user_pseudo_id is not null
        and {{ event_param('event_params', 'dataSetName', 'string') }} is not null
        and {{ event_param('event_params', 'key', 'string') }} is not null
    {%- else -%}
        1 = 0
    {%- endif -%}
{%- endmacro %}

{#- The cognito_raw_data fields of an ods_events row, with the seed's names (lower case, as
    Redshift stores them and the seed's query spells them). The two dates stay epoch ms here
    (cognito_sync_timestamp turns them into timestamps): stored tables keep them as bigint. -#}
{% macro cognito_sync_fields() -%}
        {{ clickstream.cognito_text('identityPoolId', 1024) }} as identitypoolid,
        user_pseudo_id as identityid,
        {{ clickstream.cognito_text('dataSetName', 1024) }} as datasetname,
        {{ clickstream.cognito_text('operation', 64) }} as operation,
        {{ clickstream.cognito_text('key', 1024) }} as key,
        {#- The seed's 1024 would fail on Redshift for the longer values ods_events keeps (up to
            plugins/typed_values.py MAX_STRING_VALUE, 2048 characters). #}
        {{ clickstream.cognito_text('value', 2048) }} as value,
        {{ clickstream.cognito_text('op', 64) }} as op,
        cast({{ event_param('event_params', 'syncCount', 'int') }} as {{ dbt.type_int() }}) as synccount,
        cast({{ event_param('event_params', 'deviceLastModifiedDate', 'int') }} as bigint) as device_last_modified_ms,
        {#- The entry's lastModifiedDate, the record's when the entry has none. #}
        event_timestamp as last_modified_ms
{%- endmacro %}

{#- A string param as the seed's varchar(length). Redshift: the param is a SUPER until cast (and
    a bare ::varchar is varchar(256)); elsewhere it is a string already, of no declared length. -#}
{% macro cognito_text(param, length) -%}
    {{ return(adapter.dispatch('cognito_text', 'clickstream')(param, length)) }}
{%- endmacro %}

{% macro default__cognito_text(param, length) -%}
    {{ event_param('event_params', param, 'string') }}
{%- endmacro %}

{% macro redshift__cognito_text(param, length) -%}
    cast({{ event_param('event_params', param, 'string') }} as varchar({{ length }}))
{%- endmacro %}

{#- A timestamp without time zone (UTC) from epoch ms, the seed's `timestamp` type. -#}
{% macro cognito_sync_timestamp(column) -%}
    cast({{ epoch_ms_to_timestamp(column) }} as timestamp)
{%- endmacro %}
