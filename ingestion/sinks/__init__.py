"""Where accepted requests go: the spool (ingestion.spool) takes each request before the 200;
a destination (local lake, S3, Kinesis, Kafka) receives the sealed spool segments. Every
destination ends as gzip NDJSON files in the raw lake (see deploy/sinks/ for the streams)."""

from __future__ import annotations

import socket

from clickstream_project.config import ProjectConfig
from ingestion.sinks.base import Destination, DestinationError, SealedSegment, Sink, SinkUnavailable, encode_record

__all__ = [
    "Destination", "DestinationError", "SealedSegment", "Sink", "SinkUnavailable", "encode_record",
    "roll_policy", "sink_from_config",
]  # fmt: skip

MIB = 1024 * 1024


def roll_policy(config: ProjectConfig):
    """When a spool segment is sealed: by size and age for files (local, S3), by record count
    and age for streams (Kinesis, Kafka), with the product's knobs for each."""
    from ingestion.spool import RollPolicy

    sink = config.pipeline.sink
    stream = sink.kinesis if sink.type == "kinesis" else sink.kafka if sink.type == "kafka" else None
    if stream is not None:
        # 0 s means "as soon as possible": the sealer checks every second.
        return RollPolicy(
            max_bytes=sink.buffer_size_mib * MIB, max_age_seconds=max(stream.max_interval_seconds, 1), max_records=stream.batch_size
        )
    return RollPolicy(max_bytes=sink.buffer_size_mib * MIB, max_age_seconds=sink.buffer_interval_seconds)


def sink_from_config(config: ProjectConfig) -> Sink:
    """The spool and its destination for this process; call once per worker."""
    from ingestion.sinks.destinations import destination_from_config
    from ingestion.spool import Spool, SpoolLimits

    ingestion = config.pipeline.ingestion
    return Spool(
        config.spool_root,
        destination_from_config(config),
        roll_policy(config),
        SpoolLimits(max_bytes=ingestion.spool_max_mib * MIB, max_outage_seconds=ingestion.max_sink_outage_seconds),
        # The host name keeps segment and object names apart when several servers share a lake.
        socket.gethostname(),
        fsync=ingestion.fsync,
        fsync_interval_seconds=ingestion.fsync_interval_ms / 1000,
    )
