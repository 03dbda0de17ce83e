"""Values an analysis binds: every value a user gives becomes a named parameter (``:v0``, ``:v1``
...), never text in the SQL, as the dashboards' queries (clickstream_console/warehouse/query.py)."""

from __future__ import annotations


class SqlParams:
    """Collects the values of one analysis' SQL and names them in order."""

    def __init__(self, prefix: str = "v", *, event_dates: tuple[str, str] | None = None) -> None:
        self._prefix = prefix
        self.values: dict[str, object] = {}
        # The parameters (names without ":") of the first and last UTC event_date the analysis'
        # event rows fall on, when it knows them: event attribute lookups (properties.value_sql)
        # then read only those dates of the attributes view instead of all of them.
        self.event_dates = event_dates

    def add(self, value: object) -> str:
        """The placeholder (``:v3``) that binds ``value``."""
        name = f"{self._prefix}{len(self.values)}"
        self.values[name] = value
        return f":{name}"
