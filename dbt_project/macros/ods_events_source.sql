{#-
  The cloud warehouses' source of processed events (source ods.ods_events), created and fed
  outside the models because it is shared with the lake:

  Redshift: a staging table per project, loaded with COPY from a manifest of the Parquet files
  the processing job wrote since the last load:

      dbt run-operation copy_ods_events --args '{manifest_url: "s3://.../manifest.json", iam_role: "arn:..."}'

  COPY ... SERIALIZETOJSON is the way Redshift loads nested Parquet columns into SUPER (an
  external table reads them as struct/array, which cannot be stored in a local table). The
  manifest names exactly the new files, so a load reads nothing twice and no Spectrum scan of
  the lake is needed; dedup against what is already loaded happens in base_new_events, and the
  staging table is emptied once ods_events has appended it (post-hook of ods_events).

  Athena: one external table per project over the Parquet, partitioned by
  partition_app/year/month/day (DATA_CONTRACT §5) with partition projection, so new
  partitions need no MSCK REPAIR:

      dbt run-operation create_ods_events_table --args '{location: "s3://.../ods_events/"}'
-#}

{% macro ods_events_ddl_columns() -%}
    {%- set nested = 'super' if target.type == 'redshift' else none -%}
    {{ return([
        ('app_info', 'struct<app_id:string,id:string,install_source:string,version:string>'),
        ('device', 'struct<mobile_brand_name:string,mobile_model_name:string,manufacturer:string,screen_width:bigint,screen_height:bigint,carrier:string,network_type:string,operating_system_version:string,operating_system:string,ua_browser:string,ua_browser_version:string,ua_os:string,ua_os_version:string,ua_device:string,ua_device_category:string,system_language:string,time_zone_offset_seconds:bigint,vendor_id:string,advertising_id:string,host_name:string>'),
        ('ecommerce', 'struct<total_item_quantity:bigint,purchase_revenue_in_usd:double,purchase_revenue:double,refund_value_in_usd:double,refund_value:double,shipping_value_in_usd:double,shipping_value:double,tax_value_in_usd:double,tax_value:double,transaction_id:string,unique_items:bigint>'),
        ('event_bundle_sequence_id', 'bigint'),
        ('event_date', 'date'),
        ('event_dimensions', 'array<struct<key:string,value:struct<double_value:double,float_value:float,int_value:bigint,string_value:string>>>'),
        ('event_id', 'string'),
        ('event_name', 'string'),
        ('event_params', 'array<struct<key:string,value:struct<double_value:double,float_value:float,int_value:bigint,string_value:string>>>'),
        ('event_previous_timestamp', 'bigint'),
        ('event_server_timestamp_offset', 'bigint'),
        ('event_timestamp', 'bigint'),
        ('event_value_in_usd', 'double'),
        ('geo', 'struct<city:string,continent:string,country:string,metro:string,region:string,sub_continent:string,locale:string>'),
        ('ingest_timestamp', 'bigint'),
        ('items', 'array<struct<id:string,name:string,brand:string,category:string,category2:string,category3:string,category4:string,category5:string,price:double,quantity:bigint,currency:string,creative_name:string,creative_slot:string,location_id:string>>'),
        ('platform', 'string'),
        ('privacy_info', 'array<struct<key:string,value:struct<double_value:double,float_value:float,int_value:bigint,string_value:string>>>'),
        ('project_id', 'string'),
        ('traffic_source', 'struct<medium:string,name:string,source:string>'),
        ('user_first_touch_timestamp', 'bigint'),
        ('user_id', 'string'),
        ('user_ltv', 'struct<revenue:double,currency:string>'),
        ('user_properties', 'array<struct<key:string,value:struct<double_value:double,float_value:float,int_value:bigint,string_value:string,set_timestamp_micros:bigint>>>'),
        ('user_pseudo_id', 'string'),
    ]) }}
{%- endmacro %}


{#- Redshift types of the staging table: SUPER for every nested column. -#}
{% macro redshift_column_type(hive_type) -%}
    {%- if hive_type.startswith('struct') or hive_type.startswith('array') -%}super
    {%- elif hive_type == 'string' -%}varchar(65535)
    {%- elif hive_type == 'double' -%}double precision
    {%- else -%}{{ hive_type }}
    {%- endif -%}
{%- endmacro %}


{#- The statements one by one: splitting their text on ';' would also split a URI holding one. -#}
{% macro copy_ods_events_statements(manifest_url, iam_role) -%}
    {%- set create -%}
create table if not exists {{ source('ods', 'ods_events') }} (
    {%- for name, hive_type in clickstream.ods_events_ddl_columns() %}
    {{ name }} {{ clickstream.redshift_column_type(hive_type) }}{{ ',' if not loop.last }}
    {%- endfor %}
)
    {%- endset -%}
    {%- set copy -%}
copy {{ source('ods', 'ods_events') }}
from {{ clickstream.sql_string(manifest_url) }}
iam_role {{ clickstream.sql_string(iam_role) }}
format as parquet serializetojson
manifest
    {%- endset -%}
    {{ return([create, copy]) }}
{%- endmacro %}

{% macro copy_ods_events_sql(manifest_url, iam_role) -%}
{{ clickstream.copy_ods_events_statements(manifest_url, iam_role) | join(';\n') }}
{%- endmacro %}

{% macro copy_ods_events(manifest_url, iam_role) -%}
    {%- for statement in clickstream.copy_ods_events_statements(manifest_url, iam_role) -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
    {%- do clickstream.commit_open_transaction() -%}
{%- endmacro %}


{% macro create_ods_events_table_sql(location) -%}
{#- Athena DDL is Hive's: identifiers unquoted (Hive would want backticks, not double quotes). -#}
{%- set table = source('ods', 'ods_events') -%}
create external table if not exists {{ table.schema }}.{{ table.identifier }} (
    {%- for name, hive_type in clickstream.ods_events_ddl_columns() %}
    {{ name }} {{ hive_type }}{{ ',' if not loop.last }}
    {%- endfor %}
)
partitioned by (partition_app string, partition_year string, partition_month string, partition_day string)
stored as parquet
location {{ clickstream.sql_string(location, ddl=true) }}
tblproperties (
    'projection.enabled' = 'true',
    'projection.partition_app.type' = 'injected',
    'projection.partition_year.type' = 'integer',
    'projection.partition_year.range' = '2020,2100',
    'projection.partition_year.digits' = '4',
    'projection.partition_month.type' = 'integer',
    'projection.partition_month.range' = '1,12',
    'projection.partition_month.digits' = '2',
    'projection.partition_day.type' = 'integer',
    'projection.partition_day.range' = '1,31',
    'projection.partition_day.digits' = '2',
    'storage.location.template' = {{ clickstream.sql_string(location ~ 'partition_app=${partition_app}/partition_year=${partition_year}/partition_month=${partition_month}/partition_day=${partition_day}', ddl=true) }}
)
{%- endmacro %}

{% macro create_ods_events_table(location) -%}
    {%- do run_query(clickstream.create_ods_events_table_sql(location)) -%}
{%- endmacro %}
