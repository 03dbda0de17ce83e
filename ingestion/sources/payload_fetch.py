"""Completing a Cognito ``payloadType: S3Url`` record from its presigned S3 URL.

Cognito puts a sync whose records exceed Kinesis' payload size behind ``kinesisSyncRecordsURL``
(presigned, so it expires). The fetch happens here, in the source step, because the processing
transform is pure. A URL that answers 403/400 (expired or invalid signature) is not retried;
timeouts, connection errors and 5xx are, a bounded number of times with doubling waits. A record
that cannot be completed is kept with a ``fetch_error`` and no ``kinesisSyncRecords``, so the
cleaning step quarantines it (reason ``missing_required_field``, the record with its
``fetch_error`` in the quarantine's ``raw`` column) instead of it vanishing.

Either way the URL is landed without its query string: the signature and credential in it
(``X-Amz-Credential``, ``X-Amz-Security-Token``, ``X-Amz-Signature``) are a key to the pool's
data for their lifetime, and the lake keeps records for years. Bucket and key stay, for finding
the object again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from clickstream_project.source_settings import PayloadFetchSettings

MIB = 1024 * 1024
# S3 answers these for an expired or tampered presigned URL; retrying cannot help.
_FINAL_STATUSES = {400, 403, 404}


class PayloadFetchError(Exception):
    pass


def complete_record(
    record: dict[str, Any],
    settings: PayloadFetchSettings,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """The record with its ``kinesisSyncRecords`` filled from the URL, or marked with
    ``fetch_error``. Records that are not S3Url payloads are returned unchanged."""
    if record.get("payloadType") != "S3Url" or isinstance(record.get("kinesisSyncRecords"), list):
        return record
    url = record.get("kinesisSyncRecordsURL")
    completed = {key: value for key, value in record.items() if key != "kinesisSyncRecords"}
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return {**completed, "fetch_error": "payloadType S3Url without an http(s) kinesisSyncRecordsURL"}
    completed["kinesisSyncRecordsURL"] = without_query(url)
    try:
        entries = _sync_records(fetch_payload(url, settings, session=session, sleep=sleep))
    except PayloadFetchError as error:
        return {**completed, "fetch_error": str(error)}
    return {**completed, "kinesisSyncRecords": entries}


def without_query(url: str) -> str:
    """The URL without its query string and fragment (the presigned part)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _sync_records(body: bytes) -> list[Any]:
    """The sync's entries: the object behind the URL is the full record (or just its array)."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise PayloadFetchError("kinesisSyncRecordsURL did not return JSON") from None
    if isinstance(payload, dict):
        payload = payload.get("kinesisSyncRecords")
    if not isinstance(payload, list):
        raise PayloadFetchError("kinesisSyncRecordsURL returned JSON without a kinesisSyncRecords array")
    return payload


def fetch_payload(
    url: str,
    settings: PayloadFetchSettings,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    http = session or requests.Session()
    limit = settings.max_mib * MIB
    last = ""
    for attempt in range(settings.max_attempts):
        if attempt:
            sleep(settings.backoff_seconds * 2 ** (attempt - 1))
        try:
            with http.get(url, timeout=settings.timeout_seconds, stream=True) as response:
                if response.status_code in _FINAL_STATUSES:
                    raise PayloadFetchError(
                        f"kinesisSyncRecordsURL answered HTTP {response.status_code} (presigned URL expired or invalid)"
                    )
                if response.status_code != 200:
                    last = f"HTTP {response.status_code}"
                    continue
                body = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > limit:
                        raise PayloadFetchError(f"kinesisSyncRecordsURL payload is over {settings.max_mib} MiB")
                return bytes(body)
        except requests.RequestException as error:
            last = type(error).__name__
    raise PayloadFetchError(f"kinesisSyncRecordsURL not fetched after {settings.max_attempts} attempt(s): {last}")
