"""Raw records too large for a message destination (Kinesis: 1 MiB, Kafka: message.max.bytes).

Such a record can never be delivered, so failing its segment would block the spool for good
and turn one odd request into an outage. It is set aside instead: kept in
`<directory>/<stem>.gz` (gzip NDJSON, the lake's own format, ready to copy into the lake by
hand) or, without a directory, dropped with an error in the log. Either way it is logged.
"""

from __future__ import annotations

import gzip
import logging
import os
from pathlib import Path

from ingestion.sinks.destination import DestinationError, SealedSegment
from ingestion.sinks.layout import sealed_name

logger = logging.getLogger(__name__)


def set_aside(directory: Path | None, segment: SealedSegment, lines: list[bytes], *, limit: str) -> None:
    """`limit` names the limit and where it applies, for the log ("the 1 MiB record limit of
    Kinesis stream 'x'")."""
    if directory is None:
        logger.error("dropped %d records of segment %s over %s", len(lines), segment.stem, limit)
        return
    target = directory / sealed_name(segment.stem)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # Written whole and renamed: a segment shipped again replaces the file instead of
        # adding its records twice.
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(gzip.compress(b"".join(line + b"\n" for line in lines)))
        os.replace(partial, target)
    except OSError as error:
        raise DestinationError(f"cannot keep {len(lines)} records of segment {segment.stem} over {limit} in {target}: {error}") from error
    logger.error("%d records of segment %s are over %s; kept in %s", len(lines), segment.stem, limit, target)
