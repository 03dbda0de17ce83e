"""The key that signs session cookies. From ``CLICKSTREAM_CONSOLE_SECRET_KEY`` when set (several
console hosts behind one address need the same key), else made once and kept in the data
directory, readable by its owner only, so sessions survive a restart."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_KEY_ENV = "CLICKSTREAM_CONSOLE_SECRET_KEY"
MIN_KEY_CHARS = 32


def load_secret_key(console_root: Path) -> str:
    from_env = os.environ.get(SECRET_KEY_ENV)
    if from_env is not None:
        if len(from_env) < MIN_KEY_CHARS:
            raise ValueError(
                f"{SECRET_KEY_ENV}: at least {MIN_KEY_CHARS} characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return from_env
    path = console_root / "secret_key"
    console_root.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()
