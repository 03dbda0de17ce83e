"""Destinations: where sealed spool segments are delivered, one per `pipeline.sink.type` (local
lake, S3, Kinesis, Kafka). Every destination ends as gzip NDJSON files in the raw lake (see
deploy/sinks/ for the streams). `destination.py` is the interface, `destinations.py` picks the
configured one; the spool (ingestion.spool) accepts requests and ships to it."""
