"""Gzip files of newline-delimited records that stay readable while they are being written.

Every append ends with a zlib sync flush, so the bytes on disk always decompress up to the last
complete record even though the gzip trailer is only written when the file is finished. That is
what lets a crashed writer's file be recovered without losing an acknowledged record.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import BinaryIO

# Level 1: the spool compresses on the request path, and level 1 costs about a third of the
# default level 6 for files ~10-20% larger; a record's `data` is often base64 of gzip already,
# which no level shrinks much.
COMPRESSION_LEVEL = 1
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_READ_CHUNK_BYTES = 64 * 1024


class GzipLineWriter:
    """Appends to one gzip member in an open binary file; the caller owns the file."""

    def __init__(self, file: BinaryIO, *, level: int = COMPRESSION_LEVEL) -> None:
        self._file = file
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, _GZIP_WBITS)
        self.compressed_bytes = 0

    def append(self, lines: bytes) -> None:
        """Compress `lines` and hand them to the OS; they survive a crash of this process."""
        chunk = self._compressor.compress(lines) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        self._file.write(chunk)
        self._file.flush()
        self.compressed_bytes += len(chunk)

    def finish(self) -> None:
        """Write the gzip trailer; the file is now a complete gzip file."""
        chunk = self._compressor.flush(zlib.Z_FINISH)
        self._file.write(chunk)
        self._file.flush()
        self.compressed_bytes += len(chunk)


def iter_complete_lines(file: BinaryIO) -> Iterator[bytes]:
    """The decompressed content of a possibly unfinished gzip file, up to its last complete line.

    A missing trailer or a torn last write is expected after a crash; corrupt bytes end the
    stream as well, keeping everything decoded before them.
    """
    decompressor = zlib.decompressobj(_GZIP_WBITS)
    pending = b""
    while not decompressor.eof:
        compressed = file.read(_READ_CHUNK_BYTES)
        if not compressed:
            break
        try:
            pending += decompressor.decompress(compressed)
        except zlib.error:
            break
        last_newline = pending.rfind(b"\n")
        if last_newline >= 0:
            yield pending[: last_newline + 1]
            pending = pending[last_newline + 1 :]
