"""The query layer: report SQL written once, run read-only on DuckDB, Redshift or Athena."""
