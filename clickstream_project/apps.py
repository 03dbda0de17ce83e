"""Registering apps: the project file gains the app, and the SDKs get their configuration.

The official Android and Swift SDKs read ``amplifyconfiguration.json`` (shape from the product
documentation); the web SDK is initialised in code, so for web apps the same values are also
printed as the ``ClickstreamAnalytics.init`` call.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from clickstream_project.config import App, ProjectConfig, dump_config

# The SDKs' own defaults: flush every 10 s, compress (base64-gzip) on mobile.
AUTO_FLUSH_INTERVAL_MS = 10_000


def collect_endpoint(config: ProjectConfig) -> str:
    return config.pipeline.ingestion.public_endpoint.rstrip("/") + config.pipeline.ingestion.path


def amplify_configuration(config: ProjectConfig, app: App) -> dict:
    return {
        "analytics": {
            "plugins": {
                "awsClickstreamPlugin": {
                    "appId": app.app_id,
                    "endpoint": collect_endpoint(config),
                    "isCompressEvents": True,
                    "autoFlushEventsInterval": AUTO_FLUSH_INTERVAL_MS,
                    "isTrackAppExceptionEvents": False,
                }
            }
        }
    }


def web_sdk_snippet(config: ProjectConfig, app: App) -> str:
    return (
        "import { ClickstreamAnalytics } from '@aws/clickstream-web';\n"
        f"ClickstreamAnalytics.init({{ appId: {json.dumps(app.app_id)}, endpoint: {json.dumps(collect_endpoint(config))} }});"
    )


class RegistrationError(Exception):
    """The app could not be registered; neither file was changed. One line, naming the file."""


def register_app(config: ProjectConfig, app: App, config_path: Path, output: Path | None = None) -> tuple[ProjectConfig, Path]:
    """Add ``app`` to the project file and write its SDK configuration: both or neither.

    Both files are written to temporary names beside their targets first (where a full disk
    or a missing permission shows), then renamed, the SDK file first: an app in the project
    file without its SDK configuration is the worse half. Should the second rename fail, the
    first is undone. Returns the updated configuration and where the SDK file went.
    """
    updated = config.with_app(app)
    output = output or (updated.data_root / "apps" / app.app_id / "amplifyconfiguration.json")
    sdk_text = json.dumps(amplify_configuration(updated, app), indent=2) + "\n"
    staged: list[Path] = []
    try:
        sdk_tmp = _stage(output, sdk_text, "the SDK configuration", staged)
        config_tmp = _stage(config_path, dump_config(updated), "the project file", staged)
        previous_sdk = _read_previous(output)
        _replace(sdk_tmp, output, "the SDK configuration")
        try:
            _replace(config_tmp, config_path, "the project file")
        except RegistrationError:
            _restore(output, previous_sdk)
            raise
    finally:
        for path in staged:
            path.unlink(missing_ok=True)
    return updated, output


def _stage(target: Path, text: str, what: str, staged: list[Path]) -> Path:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.append(tmp)
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
    except OSError as error:
        raise RegistrationError(f"cannot write {what} {target}: {error.strerror or error}") from None
    return tmp


def _replace(tmp: Path, target: Path, what: str) -> None:
    try:
        os.replace(tmp, target)
    except OSError as error:
        raise RegistrationError(f"cannot write {what} {target}: {error.strerror or error}") from None


def _read_previous(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _restore(path: Path, previous: bytes | None) -> None:
    if previous is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(previous)
