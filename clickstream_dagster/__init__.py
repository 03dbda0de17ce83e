"""Dagster definitions, the project configuration model and the ``clickstream`` command line.

Importing this package is cheap on purpose: the ingestion service and the Spark job import its
configuration model without pulling in Dagster.
"""
