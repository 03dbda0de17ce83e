"""The one place that decides which environment the definitions run in, and where the project
configuration comes from.

- ``local`` (the default) runs whatever the configuration names, typically the embedded default:
  a local raw lake, Spark in local mode and DuckDB, all on one machine.
- ``production`` is the scale-out shape of deploy/: ingestion, the Dagster daemon and every run
  are separate containers that share nothing but cloud services. The definitions then refuse a
  configuration that would keep data on one container's disk, before any run starts.

Either way resources are chosen from the configuration (definitions.resources_for); asset code
never looks at the environment."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from clickstream_project.config import CONFIG_ENV_VAR, ConfigError, ProjectConfig, load_config

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXAMPLE_CONFIG = REPO_ROOT / "clickstream.example.yaml"
ENVIRONMENT_ENV_VAR = "CLICKSTREAM_ENV"


class Environment(StrEnum):
    LOCAL = "local"
    PRODUCTION = "production"


def current_environment() -> Environment:
    value = os.environ.get(ENVIRONMENT_ENV_VAR, Environment.LOCAL.value)
    try:
        return Environment(value)
    except ValueError:
        allowed = ", ".join(e.value for e in Environment)
        raise ValueError(f"{ENVIRONMENT_ENV_VAR}={value!r}: expected one of {allowed}") from None


def config_path() -> Path:
    """$CLICKSTREAM_CONFIG, else ./clickstream.yaml, else the example shipped with the repo, so
    that `dagster dev` from a fresh clone shows the graph before anything is configured."""
    explicit = os.environ.get(CONFIG_ENV_VAR)
    if explicit:
        return Path(explicit)
    local = Path("clickstream.yaml")
    return local if local.exists() else EXAMPLE_CONFIG


def project_config() -> ProjectConfig:
    return load_config(config_path())


def production_problems(config: ProjectConfig) -> list[str]:
    """What keeps a configuration from running as separate containers, one line per field."""
    pipeline = config.pipeline
    problems = []
    if pipeline.sink.type == "local":
        problems.append(
            "pipeline.sink.type is 'local': ingestion and the runs are different containers, so raw "
            "files must go to a shared store (s3, kinesis or kafka)"
        )
    if pipeline.processing.engine == "local":
        problems.append(
            "pipeline.processing.engine is 'local': ods_events would be written inside one run's "
            "container; use 'emr_serverless' (deploy/emr-serverless/README.md)"
        )
    if pipeline.modeling.engine == "duckdb":
        problems.append(
            "pipeline.modeling.engine is 'duckdb': the database file would live and die with one run's "
            "container; use 'redshift' or 'athena' (deploy/README.md, step 5)"
        )
    return problems


def check_production(config: ProjectConfig, source: str) -> None:
    problems = production_problems(config)
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigError(
            f"{ENVIRONMENT_ENV_VAR}=production cannot use {source}:\n{lines}\n"
            f"(a single-machine deployment is {ENVIRONMENT_ENV_VAR}=local, the default)"
        )
