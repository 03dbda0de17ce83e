"""The data contract in code (``DATA_CONTRACT.md``): rules that ingestion, the Spark job and the
Dagster definitions must apply identically, each written once.

Standard library (and orjson) only: EMR Serverless ships this package in the job's zip next to
``plugins``, and ingestion imports it without Spark or Dagster.
"""
