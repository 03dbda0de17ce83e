"""Files of the job's roots through Hadoop's FileSystem API: the local disk here, S3 on EMR.

The job lists raw hours, finds earlier output and commits its files by name. Doing that through
the Spark session's Hadoop configuration (instead of ``pathlib``) makes one code path serve every
scheme Spark can read: ``file:`` locally (the tests exercise it), ``s3://`` through EMRFS on EMR,
``s3a://`` where hadoop-aws is installed, ``hdfs://``. Credentials are the session's.
"""

from __future__ import annotations

from pathlib import Path

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession


def as_uri(location: str | Path) -> str:
    """A URI for a location given as a URI or as a local path (made absolute)."""
    text = str(location)
    if "://" in text or text.startswith("file:"):
        return text.rstrip("/")
    return Path(text).resolve().as_uri()


def join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *parts])


def base_name(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


class Storage:
    def __init__(self, spark: SparkSession) -> None:
        self._jvm = spark._jvm  # type: ignore[attr-defined]
        self._conf = spark._jsc.hadoopConfiguration()  # type: ignore[attr-defined]

    def _path(self, uri: str):
        return self._jvm.org.apache.hadoop.fs.Path(uri)

    def _fs(self, path):
        return path.getFileSystem(self._conf)

    def qualify(self, uri: str) -> str:
        """The form listings return (``file:/x`` for ``file:///x``), so prefixes compare."""
        path = self._path(uri)
        return str(self._fs(path).makeQualified(path).toString())

    def glob(self, pattern: str) -> list[str]:
        """Files (not directories) matching a Hadoop glob (``*``, ``?``, ``[..]``, ``{a,b}``), sorted."""
        path = self._path(pattern)
        statuses = self._fs(path).globStatus(path)
        return sorted(str(status.getPath().toString()) for status in (statuses or []) if status.isFile())

    def directories(self, uri: str) -> list[str]:
        """The subdirectories of a directory (none if it does not exist), sorted."""
        path = self._path(uri)
        fs = self._fs(path)
        if not fs.exists(path):
            return []
        return sorted(str(status.getPath().toString()) for status in fs.listStatus(path) if status.isDirectory())

    def newest_modification(self, uri: str) -> float:
        """Epoch seconds of the newest file below a directory (its own time when it holds none)."""
        path = self._path(uri)
        fs = self._fs(path)
        newest = fs.getFileStatus(path).getModificationTime()
        files = fs.listFiles(path, True)
        while files.hasNext():
            newest = max(newest, files.next().getModificationTime())
        return newest / 1000

    def exists(self, uri: str) -> bool:
        path = self._path(uri)
        return bool(self._fs(path).exists(path))

    def is_empty_dir(self, uri: str) -> bool:
        path = self._path(uri)
        fs = self._fs(path)
        return bool(fs.exists(path) and fs.getFileStatus(path).isDirectory() and len(fs.listStatus(path)) == 0)

    def delete(self, uri: str, recursive: bool = False) -> None:
        path = self._path(uri)
        self._fs(path).delete(path, recursive)

    def rename(self, source: str, target: str) -> None:
        """Move a file or directory; the target's parent is created. On S3 this is a copy and a
        delete (not atomic): the commit protocol in plugins/commit.py allows for that."""
        source_path, target_path = self._path(source), self._path(target)
        fs = self._fs(target_path)
        try:
            fs.mkdirs(target_path.getParent())
            moved = fs.rename(source_path, target_path)
        except Py4JJavaError as error:
            raise OSError(f"could not move {source} to {target}: {error.java_exception}") from None
        if not moved:
            raise OSError(f"could not move {source} to {target}")

    def size(self, uri: str) -> int:
        path = self._path(uri)
        return int(self._fs(path).getFileStatus(path).getLen())

    def write_text(self, uri: str, text: str) -> None:
        """Create or replace a small file (reports, manifests); parents are created."""
        path = self._path(uri)
        stream = self._fs(path).create(path, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def read_text(self, uri: str) -> str | None:
        """A small file's text; None when it does not exist."""
        path = self._path(uri)
        fs = self._fs(path)
        if not fs.exists(path):
            return None
        stream = fs.open(path)
        try:
            return str(self._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
        finally:
            stream.close()

    def write_text_atomically(self, uri: str, text: str) -> None:
        """Replace a small file so that readers (and a crash) see the old text or the new, never
        a part: an object store's PUT is that already; a local file is written beside and renamed
        over it (rename(2) replaces atomically)."""
        if not self.qualify(uri).startswith("file:"):
            self.write_text(uri, text)
            return
        parent, name = uri.rsplit("/", 1)
        temporary = f"{parent}/.{name}.tmp"
        self.write_text(temporary, text)
        self.rename(temporary, uri)
