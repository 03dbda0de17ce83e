"""The one place that turns `pipeline.sink` into the destination the spool ships to."""

from __future__ import annotations

from pathlib import Path

from clickstream_project.config import ProjectConfig
from ingestion.sinks.destination import Destination

# Records too large for Kinesis or Kafka are kept here, one gzip file per segment
# (ingestion.sinks.oversize), next to the spool rather than inside it.
OVERSIZE_DIR = "rejected"


def oversize_dir(config: ProjectConfig, kind: str) -> Path:
    return config.resolve(OVERSIZE_DIR) / kind


def destination_from_config(config: ProjectConfig) -> Destination:
    """Call once per process that ships (clients and producers do not survive a fork).

    Each kind is imported only when chosen, so a local deployment never loads boto3 or
    librdkafka.
    """
    settings = config.pipeline.sink
    if settings.type == "local":
        from ingestion.sinks.local_lake import LocalLakeDestination

        return LocalLakeDestination(config.raw_root)
    if settings.type == "s3" and settings.s3 is not None:
        from ingestion.sinks.s3 import S3Destination

        s3 = settings.s3
        return S3Destination(s3.bucket, config.raw_prefix, region=s3.region, endpoint_url=s3.endpoint_url)
    if settings.type == "kinesis" and settings.kinesis is not None:
        from ingestion.sinks.kinesis import KinesisDestination

        kinesis = settings.kinesis
        return KinesisDestination(
            kinesis.stream_name,
            region=kinesis.region,
            endpoint_url=kinesis.endpoint_url,
            batch_size=kinesis.batch_size,
            oversize_dir=oversize_dir(config, "kinesis"),
        )
    if settings.type == "kafka" and settings.kafka is not None:
        from ingestion.sinks.kafka import KafkaDestination

        kafka = settings.kafka
        return KafkaDestination(
            kafka.bootstrap_servers,
            kafka.topic or config.project_id,
            producer_config=kafka.producer_config,
            oversize_dir=oversize_dir(config, "kafka"),
        )
    raise ValueError(f"unsupported sink type {settings.type!r} (or its settings block is missing)")
