"""Where accepted requests go. Every sink ends as gzip NDJSON files in the raw lake."""

from __future__ import annotations

import socket

from clickstream_dagster.config import ProjectConfig
from ingestion.sinks.base import Sink, SinkUnavailable, encode_record
from ingestion.sinks.local import LocalDirectorySink

__all__ = ["LocalDirectorySink", "Sink", "SinkUnavailable", "encode_record", "sink_from_config"]

MIB = 1024 * 1024


def sink_from_config(config: ProjectConfig) -> Sink:
    """The sink the project's configuration asks for; call once per process."""
    settings = config.pipeline.sink
    if settings.type == "local":
        # The host name keeps file names apart when several servers share one lake directory.
        return LocalDirectorySink(
            config.raw_root,
            buffer_size_bytes=settings.buffer_size_mib * MIB,
            buffer_interval_seconds=settings.buffer_interval_seconds,
            name_tag=socket.gethostname(),
        )
    raise ValueError(f"unsupported sink type {settings.type!r}")
