"""The Pipeline page: the ingestion endpoint's health, the last run of each Dagster job, sensors
and schedules with their switches, and the freshness checks, each linking into the Dagster UI."""
