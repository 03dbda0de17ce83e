"""Spark processing for clickstream events: the plugin interface, the built-in SDK transformer
and the job runner that turns raw hour partitions into ``ods_events`` Parquet.

Nothing in this package imports Dagster: EMR Serverless runs ``plugins/job.py`` with a zip of
this folder, and Dagster only launches it and records what it produced.
"""
