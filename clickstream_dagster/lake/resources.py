"""The raw lake as the sensor and the raw asset see it: which hours hold sealed files.

Behind a resource so that tests can hand the sensor a lake of their own, and so that the S3
listing of a scale-out deployment replaces only this class.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg

from clickstream_dagster.lake.partitions import raw_hour_dir


@dataclass(frozen=True)
class HourListing:
    hour: datetime
    files: int
    bytes: int
    # Changes whenever a file is added, replaced or removed; part of the sensor's run key.
    fingerprint: str


def list_hour(raw_root: Path, hour: datetime) -> HourListing:
    files = sorted(raw_hour_dir(raw_root, hour).glob("*.gz"))
    digest = hashlib.sha256()
    total = 0
    for file in files:
        size = file.stat().st_size
        total += size
        digest.update(f"{file.name}:{size}\n".encode())
    return HourListing(hour=hour, files=len(files), bytes=total, fingerprint=digest.hexdigest()[:16])


class RawLakeResource(dg.ConfigurableResource):
    """A local directory laid out like ``s3://bucket/<prefix>year=/month=/day=/hour=/``."""

    raw_root: str

    def hours(self, since: datetime, until: datetime) -> list[HourListing]:
        """Hours in [since, until] that hold at least one sealed file, oldest first. Walks the
        hours of the window instead of the whole lake, so a tick costs the same after a year."""
        root = Path(self.raw_root)
        found: list[HourListing] = []
        hour = since.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
        while hour <= until:
            if raw_hour_dir(root, hour).is_dir():
                listing = list_hour(root, hour)
                if listing.files:
                    found.append(listing)
            hour += timedelta(hours=1)
        return found

    def hour(self, hour: datetime) -> HourListing:
        return list_hour(Path(self.raw_root), hour)


def lookback_start(now: datetime, hours: int) -> datetime:
    return (now.astimezone(timezone.utc) - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
