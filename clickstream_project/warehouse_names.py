"""Names an app id may not take because it becomes a warehouse schema (DATA_CONTRACT §5).

Every app's models are built in a schema named after its app id (dbt_project/macros/
generate_schema_name.sql), and saved SQL names them unquoted (``<app_id>.clickstream_session_view``).
So an app id must be neither a schema or catalog that already exists in one of the supported
warehouses, nor a reserved word of their SQL. Compared case-insensitively: all three fold
unquoted identifiers to lower case. Standard library only, like the configuration model.
"""

from __future__ import annotations

RESERVED_SCHEMA_NAMES = frozenset(
    {
        # DuckDB 1.x/2.0: the catalogs attached to every connection (`select database_name from
        # duckdb_databases()`: memory, system, temp) and the schemas of each
        # (`select schema_name from duckdb_schemas()`: main, information_schema, pg_catalog).
        "memory",
        "system",
        "temp",
        "main",
        "information_schema",
        "pg_catalog",
        # Redshift: system schemas (https://docs.aws.amazon.com/redshift/latest/dg/r_Schemas_and_tables.html,
        # names beginning with pg_ are refused by CREATE SCHEMA, see RESERVED_SCHEMA_PREFIXES),
        # and dbt_project/profiles.yml's target schema `public`.
        "public",
        "catalog_history",
        "pg_internal",
        "pg_automv",
        # Athena / Glue: `default` and `information_schema` exist in every catalog
        # (https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html).
        "default",
        # This project's own schemas: the cloud ods source (CLICKSTREAM_ODS_SCHEMA's default,
        # dbt_project/models/staging/_sources.yml) and Athena's target schema; `clickstream` is also
        # the DuckDB catalog of the default warehouse file (clickstream.duckdb).
        "clickstream",
        "clickstream_ods",
    }
)

# Redshift and DuckDB keep their system catalogs under pg_ (pg_catalog, pg_toast, pg_temp_N...).
RESERVED_SCHEMA_PREFIXES = ("pg_",)

RESERVED_SQL_KEYWORDS = frozenset(
    # Redshift reserved words: https://docs.aws.amazon.com/redshift/latest/dg/r_pg_keywords.html
    """
    aes128 aes256 all allowoverwrite analyse analyze and any array as asc authorization az64
    backup between binary blanksasnull both bytedict bzip2 case cast check collate column
    constraint create credentials cross current_date current_time current_timestamp current_user
    current_user_id datetime default deferrable deflate defrag delta delta32k desc disable
    distinct do else emptyasnull enable encode encrypt encryption end except explicit false for
    foreign freeze from full globaldict256 globaldict64k grant group gzip having identity ignore
    ilike in initially inner intersect interval into is isnull join language leading left like
    limit localtime localtimestamp lun luns lzo lzop minus mostly16 mostly32 mostly8 natural new
    not notnull null nulls off offline offset oid old on only open or order outer overlaps
    parallel partition percent permissions pivot placing primary raw readratio recover
    references rejectlog resort respect restore right select session_user similar snapshot some
    sysdate system table tag tdes text255 text32k then timestamp to top trailing true
    truncatecolumns union unique unnest unpivot user using verbose wallet when where with without
    """.split()
    # Athena DML (Trino) reserved keywords: https://trino.io/docs/current/language/reserved.html
    + """
    alter and as between by case cast constraint create cross cube current_catalog current_date
    current_path current_role current_schema current_time current_timestamp current_user
    deallocate delete describe distinct drop else end escape except execute exists extract false
    for from full group grouping having in inner insert intersect into is join json_array
    json_exists json_object json_query json_table json_value left like listagg localtime
    localtimestamp natural normalize not null on or order outer prepare recursive right rollup
    select skip table then trim true uescape union unnest using values when where with
    """.split()
    # Athena DDL (Hive) reserved keywords:
    # https://docs.aws.amazon.com/athena/latest/ug/reserved-words.html
    + """
    all alter and array as authorization between bigint binary boolean both by case cashe cast
    char column conf constraint commit create cross cube current current_date current_timestamp
    cursor database date dayofweek decimal delete describe distinct div double drop else end
    exchange exists extended external extract false fetch float floor following for foreign from
    full function grant group grouping having if import in inner insert int integer intersect
    interval into is join lateral left less like local macro map more none not null numeric of
    on only or order out outer over partialscan partition percent preceding precision preserve
    primary procedure range reads reduce regexp references revoke right rlike rollback rollup row
    rows select set smallint start table tablesample then time timestamp to transform trigger
    true truncate unbounded union uniquejoin update user using utc_tmestamp values varchar views
    when where window with
    """.split()
    # DuckDB reserved keywords: `select keyword_name from duckdb_keywords() where
    # keyword_category = 'reserved'` (DuckDB 2.0).
    + """
    all analyse analyze and any array as asc asymmetric both case cast check collate column
    constraint create default deferrable desc describe distinct do else end except false fetch
    for foreign from group having in initially intersect into lambda lateral leading limit not
    null offset on only or order pivot pivot_longer pivot_wider placing primary qualify
    references returning select show some summarize symmetric table then to trailing true union
    unique unpivot using variadic when where window with
    """.split()
)


def reserved_reason(name: str) -> str | None:
    """Why ``name`` cannot be a schema of the supported warehouses, or None if it can."""
    folded = name.lower()
    if folded in RESERVED_SCHEMA_NAMES:
        return "a schema or catalog name that DuckDB, Redshift, Athena or this project already uses"
    if folded.startswith(RESERVED_SCHEMA_PREFIXES):
        return "in the pg_ namespace of system schemas (DuckDB, Redshift)"
    if folded in RESERVED_SQL_KEYWORDS:
        return "a reserved SQL keyword of DuckDB, Redshift or Athena"
    return None
