"""Everything Dagster loads, merged. Each domain owns its assets, sensors and resources; this
file only reads the project configuration (at load time, not import time) and combines them."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtProject

from clickstream_dagster.alerts.sensors import build_alert_sensors
from clickstream_dagster.jobs import build_warehouse, micro_batch, process_raw_hours
from clickstream_dagster.lake.assets import build_raw_events
from clickstream_dagster.lake.partitions import hourly_partitions
from clickstream_dagster.lake.resources import raw_lake_for
from clickstream_dagster.lake.schedules import build_processing_schedule, build_read_sources_schedule
from clickstream_dagster.lake.sensors import build_raw_hours_sensor
from clickstream_dagster.lake.sources import read_sources_job
from clickstream_dagster.modeling.assets import build_app_dbt_assets
from clickstream_dagster.modeling.dbt_resource import ClickstreamDbtResource
from clickstream_dagster.modeling.project import dbt_executable, dbt_project
from clickstream_dagster.modeling.published import build_published_warehouse
from clickstream_dagster.modeling.schedules import build_dbt_schedule
from clickstream_dagster.modeling.sensors import build_warehouse_sensor
from clickstream_dagster.modeling.warehouses import warehouse_for
from clickstream_dagster.names import WAREHOUSE_TAG
from clickstream_dagster.processing.assets import build_ods_events
from clickstream_dagster.processing.emr import EmrServerlessSparkJobResource
from clickstream_dagster.processing.resources import LocalSparkJobResource, SparkJobResource
from clickstream_dagster.quality.checks import build_spool_schedule, ingestion_health_job, quarantine_rate_check, spool_depth_check
from clickstream_dagster.quality.freshness import build_freshness_checks, build_freshness_sensor
from clickstream_dagster.resources import ProjectResource
from clickstream_project.config import ProjectConfig
from clickstream_project.environment import Environment, check_production, config_path, current_environment


def resources_for(environment: Environment, project: ProjectResource, config: ProjectConfig, dbt: DbtProject) -> dict[str, object]:
    """The one place resources are chosen; asset code never looks at the environment."""
    if environment is Environment.PRODUCTION:
        check_production(config, project.config_path)
    processing = config.pipeline.processing
    # Where Spark runs is the configuration's choice in every environment (a laptop may drive
    # EMR Serverless while developing).
    spark_job: SparkJobResource = (
        EmrServerlessSparkJobResource.from_config(config)
        if processing.engine == "emr_serverless"
        else LocalSparkJobResource(master=processing.spark_master)
    )
    warehouse = warehouse_for(config)
    return {
        "clickstream": project,
        "raw_lake": raw_lake_for(config),
        "spark_job": spark_job,
        "warehouse": warehouse,
        # The dbt target follows modeling.engine; connections and secrets stay in the profile's
        # environment variables (dbt_project/profiles.yml).
        "dbt": ClickstreamDbtResource(project_dir=dbt, dbt_executable=dbt_executable(), target=warehouse.dbt_target),
    }


@dg.definitions
def defs() -> dg.Definitions:
    environment = current_environment()
    project = ProjectResource(config_path=str(config_path().resolve()))
    config = project.load()
    dbt = dbt_project()
    app_models = [build_app_dbt_assets(app_id, dbt, config.pipeline.modeling) for app_id in config.app_ids]
    # Dashboards read DuckDB from a snapshot each build publishes (modeling/published.py).
    published = [build_published_warehouse(app_models)] if config.pipeline.modeling.engine == "duckdb" and app_models else []
    automation, health, processing = config.pipeline.automation, config.pipeline.health, config.pipeline.processing
    partitions = hourly_partitions(processing.start_date)
    freshness_checks = build_freshness_checks(health, config.app_ids)
    schedules = [
        build_processing_schedule(processing, automation.processing_schedule),
        build_spool_schedule(health),
        build_read_sources_schedule(config.pipeline.sources),
    ]
    for name in ("dim_users", "data_cleanup"):
        schedule = build_dbt_schedule(name, getattr(automation, name), app_models, dbt, then=published)
        if schedule is not None:
            schedules.append(schedule)
    return dg.Definitions(
        assets=[build_raw_events(partitions), build_ods_events(partitions), *app_models, *published],
        asset_checks=[quarantine_rate_check, spool_depth_check, *freshness_checks],
        jobs=[process_raw_hours, build_warehouse, micro_batch, ingestion_health_job, read_sources_job],
        schedules=schedules,
        sensors=[
            build_raw_hours_sensor(automation.micro_batch, processing),
            build_warehouse_sensor(automation.micro_batch),
            build_freshness_sensor(freshness_checks, health),
            *build_alert_sensors(config.project_id, config.pipeline.alerts),
        ],
        resources=resources_for(environment, project, config, dbt),
        # One DuckDB writer at a time inside a run; other steps still run in parallel.
        executor=dg.multiprocess_executor.configured({"tag_concurrency_limits": [{"key": WAREHOUSE_TAG, "limit": 1}]}),
    )
