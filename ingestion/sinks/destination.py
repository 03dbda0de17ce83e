"""What a destination is: where the spool's shipper delivers each sealed segment.

The request handlers append to the spool (ingestion.spool); a shipper thread hands each sealed
segment to one `Destination`, the configured `pipeline.sink.type` (local lake directory, S3,
Kinesis, Kafka), and deletes the segment only after `ship` returned.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


class DestinationError(Exception):
    """The destination did not confirm a segment; it stays in the spool and is retried."""


@dataclass(frozen=True)
class SealedSegment:
    """A finished spool file: one gzip member of NDJSON raw records (DATA_CONTRACT §3), all of
    which arrived in the same UTC hour."""

    path: Path
    # Whole hours since the epoch (ingestion.sinks.layout.hour_of), the arrival hour.
    hour: int
    # Unique and stable across retries and restarts: shipping the same segment twice writes
    # the same object name (S3, local) or the same records (Kinesis, Kafka: at-least-once).
    stem: str

    def gzip_bytes(self) -> bytes:
        return self.path.read_bytes()

    def lines(self) -> Iterator[bytes]:
        """Each raw record as one JSON line, without the newline."""
        with gzip.open(self.path, "rb") as file:
            for line in file:
                line = line.rstrip(b"\n")
                if line:
                    yield line


@runtime_checkable
class Destination(Protocol):
    kind: str

    def ship(self, segment: SealedSegment) -> None:
        """Deliver every record of the segment, or raise DestinationError. Must be safe to
        call again for the same segment after a failure or a crash."""
        ...

    def close(self) -> None: ...

    def describe(self) -> dict[str, Any]:
        """Where the data goes (bucket, stream, topic...), for readiness and logs; no secrets."""
        ...
