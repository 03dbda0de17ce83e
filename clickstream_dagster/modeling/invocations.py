"""Target directories of dbt invocations made by Dagster.

dagster-dbt gives every invocation a fresh ``target/<op>-<run>-<id>/`` and never removes it; each
holds a manifest and compiled SQL (~5 MB here), so micro-batch mode (a build per app every
minute or two) would fill a disk within days. It also seeds each one with the project's
``partial_parse.msgpack``, which was written with other vars (every app's build passes its own
``app_id``), so dbt parses the whole project again on every build.

Here each invocation gets a directory that is removed once the invocation succeeded (a failed
one is kept for its ``dbt.log``, which the error names; only the newest few are kept) and is
seeded with the partial parse of the previous invocation of the same kind (the same app, the
same vars): dbt validates it (vars, target, versions, file hashes) and parses only what changed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL_PARSE = "partial_parse.msgpack"
# Failed invocations kept for inspection (newest first); older ones are removed.
KEEP_FAILED = 20


def invocations_root(project_dir: Path) -> Path:
    return project_dir / "target" / "invocations"


def partial_parse_cache(project_dir: Path, name: str) -> Path:
    return project_dir / "target" / "partial_parse" / f"{name}.msgpack"


def prune(root: Path, keep: int = KEEP_FAILED) -> None:
    if not root.is_dir():
        return
    directories = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in directories[keep:]:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def dbt_target_dir(project_dir: str | Path, name: str) -> Iterator[Path]:
    """A target directory for one invocation; ``name`` says which invocations share a partial
    parse (e.g. ``build-shop_web``)."""
    project_dir = Path(project_dir)
    root = invocations_root(project_dir)
    prune(root)
    path = root / f"{name}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    cache = partial_parse_cache(project_dir, name)
    if cache.exists():
        shutil.copyfile(cache, path / PARTIAL_PARSE)
    try:
        yield path
    except BaseException:
        os.utime(path)  # newest failure first when pruning
        raise
    produced = path / PARTIAL_PARSE
    if produced.exists():
        # Invocations of the same name may end at the same time: replace atomically.
        cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache.with_name(f".{cache.name}.{uuid.uuid4().hex[:8]}")
        shutil.copyfile(produced, temporary)
        os.replace(temporary, cache)
    shutil.rmtree(path, ignore_errors=True)
