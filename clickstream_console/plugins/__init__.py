"""Plugins: the transformer and enrichments the processing job runs, and the ingestion and sink
settings beside them, with secrets masked. Read-only: a transformer is the data contract."""
