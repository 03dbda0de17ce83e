"""Manifests of a run's output files, for warehouses that load by file list (Redshift COPY).

Redshift copies Parquet from a manifest (``{"entries": [{"url", "mandatory", "meta":
{"content_length"}}]}``; the length is required for columnar files). The job knows exactly which
files it committed, so it writes one manifest per app next to the output: a warehouse then loads
the new files without listing the lake. The name follows the run's hours, so re-running the same
hours replaces the manifest along with the files it names.
"""

from __future__ import annotations

import json
import re

from plugins.storage import Storage, join

MANIFESTS_DIR = "load_manifests"
_APP_PARTITION = re.compile(r"/partition_app=([^/]+)/")


def manifest_uri(ods_root: str, app_id: str, first_hour: str, last_hour: str, source: str | None = None) -> str:
    """A source's runs (``--source``) name theirs like their files, ``<source>.h...``: an app can
    get SDK events and a source's records for the same hours."""
    return join(ods_root, MANIFESTS_DIR, f"partition_app={app_id}", f"{source + '.' if source else ''}h{first_hour}-h{last_hour}.json")


def files_by_app(files: list[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for uri in files:
        match = _APP_PARTITION.search(uri)
        if match is None:
            raise ValueError(f"not an ods_events file (no partition_app= directory): {uri}")
        grouped.setdefault(match.group(1), []).append(uri)
    return grouped


def manifest_text(storage: Storage, files: list[str]) -> str:
    # A later run of some of these hours deletes their files (its own manifest names the new
    # ones): a loader combining manifests skips names that are gone (clickstream_dagster/
    # modeling/warehouses.py); a file missing at COPY time is an error, not a silent skip.
    entries = [{"url": uri, "mandatory": True, "meta": {"content_length": storage.size(uri)}} for uri in sorted(files)]
    return json.dumps({"entries": entries}, indent=1)


def write_load_manifests(
    storage: Storage, ods_root: str, committed: list[str], hour_keys: list[str], source: str | None = None
) -> dict[str, str]:
    """One manifest per app with output in this run; returns app id → manifest URI."""
    written: dict[str, str] = {}
    for app_id, files in sorted(files_by_app(committed).items()):
        uri = manifest_uri(ods_root, app_id, hour_keys[0], hour_keys[-1], source)
        storage.write_text(uri, manifest_text(storage, files))
        written[app_id] = uri
    return written
