"""Every relation of a DuckDB warehouse schema as a multiset of rows, to compare two warehouses
built from the same events (incremental runs against a full build, a backfill against the
first run)."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import duckdb

Snapshot = dict[str, list[str]]

# The events the last dbt build added (the incremental models' input): by definition what one
# run did, so it differs between any two histories. Every relation built from it is compared.
PER_RUN_RELATIONS = {"base_new_events"}


def canonical_rows(connection: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    """Rows as a sorted list of JSON texts (a multiset): row order is no part of a table."""
    cursor = connection.execute(query)
    columns = [column[0] for column in cursor.description]
    return sorted(json.dumps(dict(zip(columns, row)), sort_keys=True, default=str) for row in cursor.fetchall())


def schema_snapshot(database: Path, schema: str) -> Snapshot:
    """Every table and view of ``schema`` (but the per-run batch above), by name."""
    with duckdb.connect(str(database), read_only=True) as connection:
        names = connection.execute(
            "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
        ).fetchall()
        return {
            name: canonical_rows(connection, f'select * from "{schema}"."{name}"') for (name,) in names if name not in PER_RUN_RELATIONS
        }


def snapshot_differences(expected: Snapshot, actual: Snapshot, rows_shown: int = 4) -> str:
    """Relation by relation: the rows only one of the two snapshots has (a few of each)."""
    lines = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual or name not in expected:
            lines.append(f"{name}: only in the {'expected' if name in expected else 'actual'} warehouse")
            continue
        before, after = collections.Counter(expected[name]), collections.Counter(actual[name])
        if before == after:
            continue
        missing, extra = list((before - after).elements()), list((after - before).elements())
        lines.append(f"{name}: {len(expected[name])} rows → {len(actual[name])}; {len(missing)} missing, {len(extra)} extra")
        lines += [f"  - {row[:600]}" for row in missing[:rows_shown]]
        lines += [f"  + {row[:600]}" for row in extra[:rows_shown]]
    return "\n".join(lines)
