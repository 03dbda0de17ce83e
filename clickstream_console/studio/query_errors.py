"""How Analytics Studio's data calls answer when a query cannot run: the same JSON error and
status for a preset report and a custom one, with the field named for a bad parameter."""

from __future__ import annotations

from flask import Blueprint, jsonify

from clickstream_console.studio.selection import BadParameter
from clickstream_console.warehouse.query import QueryError, QueryTimeout, WarehouseUnavailable


def answer_query_errors(blueprint: Blueprint) -> None:
    """Register the answers on ``blueprint``: 400 bad parameter, 503 no warehouse, 504 timeout, 502 refused."""

    @blueprint.errorhandler(BadParameter)
    def _bad_parameter(error: BadParameter):
        return jsonify(error=str(error), field=error.field), 400

    @blueprint.errorhandler(WarehouseUnavailable)
    def _unavailable(error: WarehouseUnavailable):
        return jsonify(error=f"the warehouse is not available: {error}"), 503

    @blueprint.errorhandler(QueryTimeout)
    def _timeout(error: QueryTimeout):
        return jsonify(error=f"the warehouse did not answer in time: {error}"), 504

    @blueprint.errorhandler(QueryError)
    def _query_error(error: QueryError):
        return jsonify(error=f"the warehouse refused the report's query: {error.message}"), 502
