"""The spool this process runs, built from the project configuration: its limits and roll policy
from `pipeline.ingestion` and `pipeline.sink`, shipping to the configured destination."""

from __future__ import annotations

import socket

from clickstream_project.config import ProjectConfig
from ingestion.sinks.destinations import destination_from_config
from ingestion.spool.spool import Spool, SpoolLimits
from ingestion.spool.writer import RollPolicy

MIB = 1024 * 1024


def roll_policy(config: ProjectConfig) -> RollPolicy:
    """When a spool segment is sealed: by size and age for files (local, S3), by record count
    and age for streams (Kinesis, Kafka), with the product's knobs for each."""
    sink = config.pipeline.sink
    stream = sink.kinesis if sink.type == "kinesis" else sink.kafka if sink.type == "kafka" else None
    if stream is not None:
        # 0 s means "as soon as possible": the sealer checks every second.
        return RollPolicy(
            max_bytes=sink.buffer_size_mib * MIB, max_age_seconds=max(stream.max_interval_seconds, 1), max_records=stream.batch_size
        )
    return RollPolicy(max_bytes=sink.buffer_size_mib * MIB, max_age_seconds=sink.buffer_interval_seconds)


def spool_from_config(config: ProjectConfig) -> Spool:
    """The spool and its destination for this process; call once per worker."""
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
