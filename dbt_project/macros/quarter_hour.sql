{#-
  The start (epoch ms, UTC) of the quarter hour an epoch-ms timestamp falls in: the grain of the
  console's pre-aggregated models. Every zone in use today is offset from UTC by whole quarter
  hours (+5:45, +12:45 included), so a quarter hour lies within one calendar day in any zone and
  a report in any zone gets exact days from these rows (local_date of the quarter's start). The
  same integer arithmetic on DuckDB, Redshift and Athena.
-#}
{% macro quarter_hour_start(column) -%}
    ({{ column }} - {{ column }} % {{ quarter_hour_ms() }})
{%- endmacro %}

{% macro quarter_hour_ms() -%}
    900000
{%- endmacro %}
