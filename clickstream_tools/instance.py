"""The Dagster instance of the embedded deployment: ``<data_dir>/dagster/dagster.yaml``.

Storage is Dagster's default (SQLite files beside it). What matters is the run queue, which only
the instance can configure: DuckDB allows one writing process, two Spark runs must not replace
the same hour at once, and micro-batches should not wait for Dagster's default 5 s dequeue tick
twice per batch. ``clickstream demo`` writes it; for a project of your own:

    .venv/bin/python -m clickstream_tools.instance var/dagster
    DAGSTER_HOME=$PWD/var/dagster CLICKSTREAM_CONFIG=clickstream.yaml .venv/bin/dagster dev

The production instance (Postgres, a container per run) is deploy/dagster/dagster.yaml.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EMBEDDED_INSTANCE_YAML = """\
# The embedded deployment's Dagster instance (clickstream_tools/instance.py); storage: SQLite
# files in this directory.
telemetry:
  enabled: false
# No first-visit dialog inviting the user to Dagster's community in the UI.
nux:
  enabled: false
run_queue:
  # Queued runs start within a second (Dagster's default checks every 5 s): a micro-batch
  # queues a run per stage, and waited for that tick each time.
  dequeue_interval_seconds: 1
  # A Spark run and a dbt build at the same time fill two cores. Two Spark runs of different
  # hours may also overlap: their dedup against each other's output and their commits take
  # turns (plugins/run_locks.py), so an event sent in both hours is written once.
  max_concurrent_runs: 2
  tag_concurrency_limits:
    # DuckDB allows one writing process: build_warehouse, micro_batch and the dbt schedules
    # carry this tag.
    - key: clickstream/warehouse
      limit: 1
    # The sensor may request an hour again while its previous run is still going; two Spark
    # runs must not replace the same hour's files at once.
    - key: dagster/partition
      value: {applyLimitPerUniqueValue: true}
      limit: 1
"""


def prepare_dagster_home(home: Path, *, replace: bool = False) -> Path:
    """Write the embedded instance configuration into ``home`` (kept if one exists, unless
    ``replace``); returns the file."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    if replace or not path.exists():
        path.write_text(EMBEDDED_INSTANCE_YAML)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clickstream_tools.instance",
        description="Write the embedded deployment's Dagster instance configuration (dagster.yaml) "
        "into DAGSTER_HOME: run queue limits for DuckDB and hourly partitions, telemetry and the first-visit dialog off.",
    )
    parser.add_argument("home", type=Path, help="the directory to use as DAGSTER_HOME (created if missing)")
    parser.add_argument("--force", action="store_true", help="replace an existing dagster.yaml")
    args = parser.parse_args(argv)
    existing = (args.home / "dagster.yaml").exists()
    path = prepare_dagster_home(args.home, replace=args.force)
    if existing and not args.force:
        print(f"{path} exists; kept (use --force to replace it)", file=sys.stderr)
        return 1
    print(f"wrote {path}; start Dagster with DAGSTER_HOME={args.home.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
