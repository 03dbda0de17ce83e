"""What every sink offers the request handlers, and how a raw record becomes one line."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import orjson


class SinkUnavailable(Exception):
    """The sink cannot store a record right now; the client should retry later (HTTP 503)."""


@runtime_checkable
class Sink(Protocol):
    """Stores raw records durably enough that an acknowledged request is never lost.

    `write` returns only once the record is safe against a crash of this process; it raises
    `SinkUnavailable` when it cannot store the record. Implementations are thread-safe.
    """

    def write(self, record: Mapping[str, Any], arrival_ms: int) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def health(self) -> dict[str, Any]: ...


def encode_record(record: Mapping[str, Any]) -> bytes:
    """One newline-terminated JSON line, UTF-8, compact."""
    try:
        # Every accepted request is encoded once on the hot path; orjson is several times faster.
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        # orjson refuses a lone surrogate (it cannot be UTF-8; JavaScript strings can hold one):
        # escaped JSON keeps the line valid and lossless.
        return json.dumps(record, separators=(",", ":")).encode("ascii") + b"\n"


# Shipping side ----------------------------------------------------------------------------
# The request handlers write to the spool (ingestion/spool), which implements `Sink` above.
# A shipper thread hands each sealed spool segment to one `Destination` (the configured
# `pipeline.sink.type`: local lake directory, S3, Kinesis, Kafka) and deletes the segment only
# after `ship` returned.


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
