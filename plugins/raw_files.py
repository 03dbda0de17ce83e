"""Which raw files an hour holds, which of them are not whole gzip, and what is readable of those.

Which names are sealed raw files is the lake's rule (``clickstream_contract.raw_lake.is_raw_file``,
the one Dagster's listing applies too): the job reads exactly the files :func:`list_raw_files`
returns, and its report counts exactly those.

Hadoop's gzip codec fails the whole read at the first truncated or non-gzip file. Such files are
rare, so the job reads optimistically and, only when Spark's reader fails on a file
(:func:`is_read_failure`), inflates every listed file once with zlib (:func:`gzip_problems`, one
Spark task per few files) to find which are damaged and how. Checking every file before every
read cost 10% of the job (4.6 of 47.8 s for 1M events, bench/process/run.py). Whole files are then
read by Spark's text reader again; the corrupt ones are salvaged here instead
(:func:`salvaged_lines`): every line up to the damage, plus the unfinished last one, which the
pass quarantines as undecodable like any broken line. Spark's own
``ignoreCorruptFiles`` is not used: it drops the last 64 KiB buffer's lines silently and, worse,
would also hide a transient read error of a good file.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from clickstream_contract.raw_lake import RAW_FILE_SUFFIX, is_raw_file
from plugins.storage import Storage, base_name, join

TRUNCATED, NOT_GZIP, CRC_MISMATCH, CORRUPT_DATA = "truncated", "not_gzip", "crc_mismatch", "corrupt_data"
PROBLEMS = (TRUNCATED, NOT_GZIP, CRC_MISMATCH, CORRUPT_DATA)
# Inflate in slices: a file's decompressed text never sits in memory whole (~5x the file).
_IN_BYTES = 1 << 20
_OUT_BYTES = 4 << 20


def list_raw_files(storage: Storage, hour_dir: str) -> list[str]:
    return [path for path in storage.glob(join(hour_dir, f"*{RAW_FILE_SUFFIX}")) if is_raw_file(base_name(path))]


def _inflate(data: bytes, emit: Callable[[bytes], None]) -> tuple[str, str] | None:
    """Inflate every gzip member of ``data`` (files may be concatenations), handing the output to
    ``emit``; returns (problem, detail) at the first damage, None for a whole file."""
    if not data:
        return TRUNCATED, "empty file"
    view, position, member = memoryview(data), 0, 0
    inflater, pending = None, False
    # `pending`: the last call filled its output slice, so zlib may hold more output.
    while position < len(view) or (inflater is not None and (inflater.unconsumed_tail or pending)):
        if inflater is None:
            inflater, member = zlib.decompressobj(wbits=31), member + 1
        if inflater.unconsumed_tail:
            chunk = inflater.unconsumed_tail
        else:
            chunk = view[position : position + _IN_BYTES]
            position += len(chunk)
        try:
            output = inflater.decompress(chunk, _OUT_BYTES)
        except zlib.error as error:
            message = str(error).removeprefix("Error -3 while decompressing data: ")
            if "incorrect header check" in message:
                if member == 1:
                    return NOT_GZIP, "not a gzip file (no gzip header)"
                return CORRUPT_DATA, f"bytes after gzip member {member - 1} are not gzip"
            if "incorrect data check" in message or "incorrect length check" in message:
                return CRC_MISMATCH, f"gzip member {member}: {message}"
            return CORRUPT_DATA, f"gzip member {member}: {message}"
        emit(output)
        pending = len(output) == _OUT_BYTES
        if inflater.eof:
            position -= len(inflater.unused_data)  # the next member starts there
            inflater = None
    if inflater is not None:
        return TRUNCATED, f"ends inside gzip member {member}"
    return None


def is_read_failure(error: BaseException) -> bool:
    """Whether a failed Spark action failed reading an input file (Spark's FAILED_READ_FILE
    error class, which wraps the codec's EOFException or ZipException)."""
    return "FAILED_READ_FILE" in str(error)


def gzip_problem(data: bytes) -> tuple[str, str] | None:
    return _inflate(data, lambda _: None)


def inflated_lines(data: bytes) -> Iterator[str]:
    """The text lines of whatever inflates, split like Hadoop's reader (``\\n``, ``\\r\\n``, ``\\r``)."""
    pieces: list[bytes] = []
    _inflate(data, pieces.append)
    text = b"".join(pieces)
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:]  # Spark's text reader skips a UTF-8 byte order mark too
    for line in text.splitlines():
        yield line.decode("utf-8", errors="replace")


_PROBLEM_SCHEMA = T.StructType([T.StructField(name, T.StringType()) for name in ("path", "problem", "detail")])


def _problems(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        found = []
        for path, content in zip(batch.column("path").to_pylist(), batch.column("content").to_pylist()):
            problem = gzip_problem(content)
            if problem is not None:
                found.append((path, *problem))
        columns = list(zip(*found)) or [(), (), ()]
        yield pa.RecordBatch.from_arrays([pa.array(list(column), pa.string()) for column in columns], names=_PROBLEM_SCHEMA.names)


def gzip_problems(spark: SparkSession, files: list[str]) -> dict[str, tuple[str, str]]:
    """path → (problem, detail) for each of ``files`` that is not whole gzip (paths as listed)."""
    found = spark.read.format("binaryFile").load(files).select("path", "content").mapInArrow(_problems, _PROBLEM_SCHEMA)
    return {row["path"]: (row["problem"], row["detail"]) for row in found.collect()}


def salvaged_lines(spark: SparkSession, raw_root: str, files: list[str]) -> DataFrame:
    """The readable lines of corrupt ``files``, shaped like Spark's text reader output (``value``
    and the ``year=/month=/day=/hour=`` partition columns)."""
    binary = spark.read.format("binaryFile").option("basePath", raw_root).load(files).drop("path", "modificationTime", "length")
    partitions = [field for field in binary.schema.fields if field.name != "content"]
    schema = T.StructType([T.StructField("value", T.StringType()), *partitions])
    names = [field.name for field in partitions]

    def lines(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for row in batch.to_pylist():
                values = list(inflated_lines(row["content"]))
                arrays = [pa.array(values, pa.string())]
                arrays += [pa.array([row[name]] * len(values), batch.schema.field(name).type) for name in names]
                yield pa.RecordBatch.from_arrays(arrays, names=schema.names)

    return binary.mapInArrow(lines, schema)
