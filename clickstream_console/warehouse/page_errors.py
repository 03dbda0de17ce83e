"""How a console page (HTML, not a data call: studio/query_errors.py answers those) shows that its
warehouse query could not run: the page's own template with the message, and the status of the
failure (503 no warehouse, 504 timeout, 502 refused; query.failure_status)."""

from __future__ import annotations

from flask import Blueprint, render_template

from clickstream_console.warehouse.query import QueryError, QueryTimeout, WarehouseUnavailable, failure_status


def render_query_failures(blueprint: Blueprint, template: str) -> None:
    """Register the answer on ``blueprint``: ``template`` rendered with ``message``."""

    @blueprint.errorhandler(WarehouseUnavailable)
    @blueprint.errorhandler(QueryTimeout)
    @blueprint.errorhandler(QueryError)
    def _warehouse_problem(error: QueryError | QueryTimeout | WarehouseUnavailable):
        message = error.message if isinstance(error, QueryError) else str(error)
        return render_template(template, message=message), failure_status(error)
