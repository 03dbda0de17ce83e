"""Where raw files go in the lake, and names that never collide.

The lake's layout is clickstream_contract/raw_lake.py's (partitioned by the UTC hour of arrival).
Here hours are handled as whole hours since the epoch, which compare and subtract like plain
integers.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import UTC, datetime

from clickstream_contract.raw_lake import RAW_FILE_SUFFIX, hour_path, hour_tag, parse_hour_tag

HOUR_MS = 3_600_000
SEALED_SUFFIX = RAW_FILE_SUFFIX
# In-flight files end in ".part" so that no "*.gz" glob, however deep, ever picks one up.
INFLIGHT_SUFFIX = ".gz.part"
_SEGMENT_NAME = re.compile(
    r"^(?P<hour>\d{10})_(?P<stem>[A-Za-z0-9_.-]+?)(?P<suffix>" + re.escape(INFLIGHT_SUFFIX) + "|" + re.escape(SEALED_SUFFIX) + ")$"
)
_UNSAFE_TAG_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def hour_of(epoch_ms: int) -> int:
    return epoch_ms // HOUR_MS


def hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * HOUR_MS / 1000, tz=UTC)


def partition_path(hour: int) -> str:
    return hour_path(hour_start(hour))


def new_file_stem(name_tag: str, now: float) -> str:
    """Creation time + tag + pid + random: unique across hosts, workers and restarts.

    The pid alone repeats after a container restart, and the time alone repeats across
    workers, hence the random part.
    """
    created = datetime.fromtimestamp(now, tz=UTC)
    tag = _UNSAFE_TAG_CHARS.sub("-", name_tag).strip("-")[:64] or "ingest"
    return f"{created:%Y%m%dT%H%M%S}{created.microsecond // 1000:03d}Z-{tag}-{os.getpid()}-{secrets.token_hex(4)}"


def inflight_name(hour: int, stem: str) -> str:
    return f"{hour_tag(hour_start(hour))}_{stem}{INFLIGHT_SUFFIX}"


def sealed_name(stem: str) -> str:
    return stem + SEALED_SUFFIX


def sealed_segment_name(hour: int, stem: str) -> str:
    """A sealed spool segment keeps its arrival hour in its name, like an in-flight one."""
    return f"{hour_tag(hour_start(hour))}_{stem}{SEALED_SUFFIX}"


def parse_inflight_name(name: str) -> tuple[int, str] | None:
    """(hour, stem) of an in-flight file name, or None for names the spool did not write."""
    return _parse_segment_name(name, INFLIGHT_SUFFIX)


def parse_sealed_segment_name(name: str) -> tuple[int, str] | None:
    return _parse_segment_name(name, SEALED_SUFFIX)


def _parse_segment_name(name: str, suffix: str) -> tuple[int, str] | None:
    match = _SEGMENT_NAME.match(name)
    if match is None or match["suffix"] != suffix:
        return None
    return hour_of(int(parse_hour_tag(match["hour"]).timestamp() * 1000)), match["stem"]
