"""Resources shared by several domains."""

from __future__ import annotations

import dagster as dg

from clickstream_project.config import ProjectConfig, load_config


class ProjectResource(dg.ConfigurableResource):
    """The project configuration file; loaded when an asset runs, never at import time."""

    config_path: str

    def load(self) -> ProjectConfig:
        return load_config(self.config_path)
