"""Column types of an app's models, as the warehouse reports them after a build, on each model's
materialization (``dagster/column_schema``). The catalog shows the latest materialization's
columns with the descriptions of the definition (the dbt docs), which the UI merges by name.

The types are read once, after dbt exits, and the build's events are held until then: dbt-duckdb
keeps the database file open (and locked against other processes) for the whole invocation, so
neither this nor dagster-dbt's ``fetch_column_metadata`` can read it while models are built. One
query after a build costs ~0.1 s; the events reach the event log a few seconds later than they
would if streamed, all at the end of the app's build.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import dagster as dg
from dagster_dbt import DagsterDbtCliRuntimeError

from clickstream_dagster.names import COLUMN_SCHEMA_METADATA

# relation (table or view) name, lower case -> its (column, type) in order
RelationColumns = Mapping[str, Sequence[tuple[str, str]]]

Event = TypeVar("Event")


def drain(events: Iterable[Event]) -> tuple[list[Event], DagsterDbtCliRuntimeError | None]:
    """Every event of a dbt invocation, and its failure if dbt failed: the models built before a
    failure are reported like those of a successful build."""
    collected: list[Event] = []
    try:
        for event in events:
            collected.append(event)
    except DagsterDbtCliRuntimeError as failure:
        return collected, failure
    return collected, None


def group_columns(rows: Iterable[tuple[str, str, str]]) -> dict[str, list[tuple[str, str]]]:
    """(relation, column, type) rows in column order -> ``RelationColumns``."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for relation, column, data_type in rows:
        grouped.setdefault(relation.lower(), []).append((column, data_type))
    return grouped


def with_column_schemas(events: Iterable[Any], manifest: Mapping[str, Any], columns: RelationColumns) -> Iterator[Any]:
    """The events, each model's output carrying the column schema of its relation (other events,
    and models whose relation was not read, unchanged)."""
    nodes = manifest["nodes"]
    for event in events:
        unique_id = event.metadata.get("unique_id") if isinstance(event, (dg.Output, dg.AssetMaterialization)) else None
        node = nodes.get(unique_id.value) if unique_id is not None else None
        found = columns.get(node["alias"].lower()) if node is not None else None
        if found:
            schema = dg.TableSchema(columns=[dg.TableColumn(name=name, type=data_type) for name, data_type in found])
            event = event.with_metadata({**event.metadata, COLUMN_SCHEMA_METADATA: schema})
        yield event
