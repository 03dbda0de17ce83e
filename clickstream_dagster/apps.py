"""Registering apps: the project file gains the app, and the SDKs get their configuration.

The official Android and Swift SDKs read ``amplifyconfiguration.json`` (shape from the product
documentation); the web SDK is initialised in code, so for web apps the same values are also
printed as the ``ClickstreamAnalytics.init`` call.
"""

from __future__ import annotations

import json
from pathlib import Path

from clickstream_dagster.config import App, ProjectConfig

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


def write_amplify_configuration(config: ProjectConfig, app: App, output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(amplify_configuration(config, app), indent=2) + "\n", encoding="utf-8")
    return output
