"""The one place that decides which environment the definitions run in, and where the project
configuration comes from. Local means the embedded default: a local raw lake, Spark in local
mode and DuckDB; production swaps resources, never asset code."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

from clickstream_dagster.config import CONFIG_ENV_VAR, ProjectConfig, load_config

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXAMPLE_CONFIG = REPO_ROOT / "clickstream.example.yaml"
ENVIRONMENT_ENV_VAR = "CLICKSTREAM_ENV"


class Environment(str, Enum):
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
