"""The lake assets as the definitions build them for a configuration without
``pipeline.processing.start_date``."""

from clickstream_dagster.lake.assets import build_raw_events
from clickstream_dagster.lake.partitions import hourly_partitions
from clickstream_dagster.processing.assets import build_ods_events
from clickstream_project.config import ProcessingSettings

PARTITIONS = hourly_partitions(ProcessingSettings().start_date)
raw_events = build_raw_events(PARTITIONS)
ods_events = build_ods_events(PARTITIONS)
