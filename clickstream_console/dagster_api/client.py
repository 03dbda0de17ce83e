"""The HTTP side of Dagster's GraphQL API: one POST per query, a timeout on each, and two errors
a page can tell apart — Dagster is not there (``DagsterUnavailable``: the page says so and keeps
rendering) or it answered with an error (``DagsterError``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

DEFAULT_BASE_URL = "http://127.0.0.1:3000"
# A page makes a few queries; 5 s each keeps a page with a stuck Dagster loading for seconds, not
# minutes. Reloading a code location takes longer (client.query's timeout argument).
DEFAULT_TIMEOUT_SECONDS = 5.0
# The repository name of a code location defined by a ``Definitions`` object; the UI leaves it
# out of its URLs.
SINGLE_REPOSITORY = "__repository__"


class DagsterApiError(RuntimeError):
    """Anything that kept an answer from Dagster."""


class DagsterUnavailable(DagsterApiError):
    """Nothing answered at the base URL, it timed out, or what answered is not Dagster's GraphQL."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(f"Dagster is not reachable at {base_url} ({reason})")
        self.base_url = base_url
        self.reason = reason


class DagsterError(DagsterApiError):
    """Dagster answered, with an error: a bad query, an unknown sensor, an exception in Dagster."""


class DagsterClient:
    """A Dagster webserver at ``base_url``; ``ui_url`` is where people open its UI, when that
    differs (the console reaches Dagster inside a network, browsers through a proxy)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        ui_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ui_base_url = (ui_url or base_url).rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    def query(self, query: str, variables: Mapping[str, Any] | None = None, *, timeout: float | None = None) -> dict[str, Any]:
        """The ``data`` of the answer; GraphQL errors raise ``DagsterError``."""
        try:
            response = self.session.post(
                f"{self.base_url}/graphql", json={"query": query, "variables": dict(variables or {})}, timeout=timeout or self.timeout
            )
        except requests.Timeout:
            raise DagsterUnavailable(self.base_url, f"no answer within {timeout or self.timeout:g} s") from None
        except requests.RequestException as error:
            raise DagsterUnavailable(self.base_url, type(error).__name__) from error
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
            raise DagsterUnavailable(self.base_url, f"HTTP {response.status_code} from {self.base_url}/graphql is not a GraphQL answer")
        if body.get("errors"):
            raise DagsterError("; ".join(str(error.get("message", error)) for error in body["errors"]))
        return body["data"]

    # Links into the Dagster UI (the paths its router uses) --------------------------------------

    def ui(self, path: str) -> str:
        return f"{self.ui_base_url}/{path.lstrip('/')}"

    def run_url(self, run_id: str) -> str:
        return self.ui(f"runs/{run_id}")

    def location_url(self, location: str, repository: str = SINGLE_REPOSITORY, path: str = "") -> str:
        address = quote(location, safe="") if repository == SINGLE_REPOSITORY else f"{repository}@{quote(location, safe='')}"
        return self.ui(f"locations/{address}{path}")

    def asset_check_url(self, asset_path: tuple[str, ...], check_name: str) -> str:
        asset = "/".join(quote(part, safe="") for part in asset_path)
        return self.ui(f"assets/{asset}?view=checks&checkDetail={quote(check_name, safe='')}")


def expect(result: Mapping[str, Any], *typenames: str) -> Mapping[str, Any]:
    """A GraphQL union answer of one of the expected types; the error types (``PythonError``,
    ``SensorNotFoundError``, ``UnauthorizedError``...) raise ``DagsterError`` with their message."""
    if result.get("__typename") in typenames:
        return result
    raise DagsterError(f"{result.get('__typename')}: {result.get('message', 'unexpected answer')}")


# Asks every union member that carries a message for it (all of Dagster's error types do).
ERROR_FIELDS = "__typename ... on Error { message }"


def timestamp(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None
