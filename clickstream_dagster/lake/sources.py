"""The job that reads ``pipeline.sources`` (Cognito Streams on Kinesis) into the raw lake.

One op runs each configured source once (ingestion/sources/cognito_kinesis.py: until caught up
or the source's ``max_seconds_per_run``), so a run is short and the schedule
(lake/schedules.py) starts the next. The files land below ``<prefix>sources/<name>/``, which
the raw-hours sensor does not list: processing them is a separate step.
"""

import json

import dagster as dg

from clickstream_dagster.names import READ_SOURCES_JOB
from clickstream_dagster.resources import ProjectResource


@dg.op(description="Reads each configured source's new records into the raw lake, checkpointing each shard after each file.")
def read_configured_sources(context: dg.OpExecutionContext, clickstream: ProjectResource) -> None:
    # Imported here: boto3 and requests are loaded by runs of this job only.
    from ingestion.sources.cognito_kinesis import SourceBusy, run_source

    config = clickstream.load()
    failed: list[str] = []
    for source in config.pipeline.sources:
        try:
            report = run_source(config, source)
        except SourceBusy as busy:
            # Another reader (the CLI, a run still going) holds this source and reads the same records.
            context.log.info(str(busy))
            continue
        except Exception as error:
            # One broken stream (deleted, no access) must not stop the other apps' sources.
            context.log.error(f"source {source.name!r}: {type(error).__name__}: {error}")
            failed.append(source.name)
            continue
        context.log.info(json.dumps(report.as_dict()))
    if failed:
        # What was read before the error is landed and checkpointed; the next run resumes there.
        raise dg.Failure(description=f"source(s) {', '.join(failed)} failed (see the log); the others were read")


@dg.job(
    name=READ_SOURCES_JOB,
    executor_def=dg.in_process_executor,
    description="Read the configured pipeline.sources (Cognito Streams on Kinesis) into the raw lake.",
)
def read_sources_job() -> None:
    read_configured_sources()
