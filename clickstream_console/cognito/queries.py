"""What the Cognito page reads from the Cognito models (dbt_project: ``cognito_dataset_state``,
the current value of every key, and ``cognito_raw_data``, one row per change Cognito streamed),
in DuckDB's dialect with bound values, through the dashboards' query layer, so the page works on
every warehouse. Column names are the Cognito sample connector's (cognito-streams seed), which
every warehouse reads case-insensitively."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clickstream_console.studio.results import run_query
from clickstream_console.warehouse.query import ReportQuery

# An identity with more changes than this shows its newest ones and says so: a page, not an export.
HISTORY_LIMIT = 1000

STATE = ReportQuery(
    "cognito_state",
    "select datasetname, key, value, synccount, lastmodifieddate, devicelastmodifieddate\n"
    "from cognito_dataset_state\n"
    "where identityid = :identity_id\n"
    "order by datasetname, key",
)
HISTORY = ReportQuery(
    "cognito_history",
    "select datasetname, key, value, op, operation, synccount, lastmodifieddate, devicelastmodifieddate\n"
    "from cognito_raw_data\n"
    "where identityid = :identity_id\n"
    # Newest change first; within one sync, keys in order.
    f"order by lastmodifieddate desc, synccount desc, datasetname, key\nlimit {HISTORY_LIMIT + 1}",
)
QUERIES = (STATE, HISTORY)


@dataclass(frozen=True)
class Value:
    """A key's current value in a dataset."""

    dataset: str
    key: str
    value: str | None
    sync_count: int
    modified: datetime | None
    device_modified: datetime | None


@dataclass(frozen=True)
class Change:
    """One change of a key, as streamed: ``op`` is the key's (replace/remove), ``operation`` the
    sync's."""

    dataset: str
    key: str
    value: str | None
    op: str | None
    operation: str | None
    sync_count: int
    modified: datetime | None
    device_modified: datetime | None


@dataclass(frozen=True)
class Identity:
    identity_id: str
    state: dict[str, list[Value]]  # by dataset, keys in order
    history: list[Change]  # newest first
    history_cut: bool  # more than HISTORY_LIMIT changes: the oldest are not shown

    @property
    def found(self) -> bool:
        return bool(self.state or self.history)


def lookup(app_id: str, identity_id: str) -> Identity:
    params = {"identity_id": identity_id}
    state: dict[str, list[Value]] = {}
    for dataset, key, value, sync_count, modified, device_modified in run_query(STATE, params, app_id).rows:
        state.setdefault(dataset, []).append(Value(dataset, key, value, int(sync_count), _time(modified), _time(device_modified)))
    rows = run_query(HISTORY, params, app_id).rows
    history = [
        Change(dataset, key, value, op, operation, int(sync_count), _time(modified), _time(device_modified))
        for dataset, key, value, op, operation, sync_count, modified, device_modified in rows[:HISTORY_LIMIT]
    ]
    return Identity(identity_id, state, history, len(rows) > HISTORY_LIMIT)


def _time(value: object) -> datetime | None:
    """A TIMESTAMP as each driver returns it (a datetime, or ISO text from Athena)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
