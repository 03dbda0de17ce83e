"""Health of the pipeline as asset checks: freshness of each stage, the quarantine rate of each
processed batch, and the depth of the ingestion spool. Failed checks reach the alert sensor."""
