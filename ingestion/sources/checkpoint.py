"""A source's per-shard checkpoint: the last sequence number whose raw file is durable.

One small JSON file, replaced atomically (temporary name, fsync, rename, directory fsync), so a
crash leaves either the previous checkpoint or the new one, never a torn file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

CHECKPOINT_NAME = "checkpoint.json"


@dataclass
class Checkpoint:
    stream_name: str
    # shard id -> last sequence number landed in the lake.
    sequences: dict[str, str] = field(default_factory=dict)
    # Closed shards read to their end: their children may be read.
    finished: set[str] = field(default_factory=set)
    # With initial_position 'latest': when the source first ran. Shards without a sequence
    # number start there (AT_TIMESTAMP), so records sent between two runs that found nothing
    # are not skipped the way a plain LATEST iterator would skip them.
    started_ms: int | None = None

    @classmethod
    def load(cls, directory: Path, stream_name: str) -> Checkpoint:
        path = directory / CHECKPOINT_NAME
        if not path.exists():
            return cls(stream_name)
        data = json.loads(path.read_text())
        if data.get("stream_name") != stream_name:
            # Sequence numbers of another stream mean nothing here; starting over silently
            # would re-read (or skip) a whole stream.
            raise ValueError(
                f"{path} is the checkpoint of stream {data.get('stream_name')!r}, not {stream_name!r}; move it away to start over"
            )
        return cls(stream_name, dict(data.get("sequences", {})), set(data.get("finished", [])), data.get("started_ms"))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / CHECKPOINT_NAME
        staging = directory / f".{CHECKPOINT_NAME}.tmp"
        body = {
            "stream_name": self.stream_name,
            "sequences": self.sequences,
            "finished": sorted(self.finished),
            "started_ms": self.started_ms,
        }
        with open(staging, "w") as out:
            json.dump(body, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(staging, target)
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
