"""The dbt CLI resource, without the work dagster-dbt does in Dagster's process before each
invocation that this project never uses.

Before starting ``dbt``, ``DbtCliResource.cli`` runs ``dbt --version`` in a subprocess (once
per resource object, so once per run) and builds a dbt adapter in-process: it loads the profile,
the project and every macro. The adapter only serves ``fetch_row_counts`` /
``fetch_column_metadata``, which these assets do not call (column types are read after a build
instead, modeling/columns.py says why). Together that cost ~5 s of every warehouse build on 2
cores, a large part of a micro-batch's latency. The dbt executable is the one installed with
this package (modeling/project.py), so its version is the installed dbt-core's.

Both are private methods of dagster-dbt 0.29 (pinned in requirements.lock); the end-to-end
tests run real builds through this class.
"""

from __future__ import annotations

import sys
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource
from packaging import version


class ClickstreamDbtResource(DbtCliResource):
    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable).parent != Path(sys.executable).parent:
            return super()._cli_version  # a dbt of its own: ask it
        return version.parse(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Any) -> Any:
        return None
