"""The alarms and alert channels of ``pipeline.alerts`` as the Alarms page shows and switches
them: what each is for, whether it is on, and a channel's settings without its secrets."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from clickstream_project.config import ProjectConfig
from clickstream_project.operations_settings import Alarms, AlertSettings

# What each alarm watches, for people choosing which to switch off (operations_settings.Alarms).
ALARM_DESCRIPTIONS = {
    "run_failure": "A Dagster run failed (processing, warehouse build, health checks).",
    "freshness": "The raw lake, ods_events or a session view was not updated within its threshold (pipeline.health).",
    "quarantine_rate": "A processed batch sent an abnormal share of its events to the quarantine.",
    "spool_depth": "The ingestion spool holds more than its threshold: the sink is not keeping up or is down.",
    "data_tests": "A dbt test (unique, not_null, ...) failed on a model.",
}
ALARMS = tuple(Alarms.model_fields)
CHANNELS = ("log", "webhook", "email", "sns")


@dataclass(frozen=True)
class ChannelView:
    name: str
    # False for webhook/email/sns until the project file configures them (they need an address).
    configured: bool
    enabled: bool
    # What may be shown: no webhook path or query (Slack's and Teams' carry the secret), no header
    # values; names of the environment variables that hold secrets are fine.
    facts: tuple[tuple[str, str], ...]


def channel_views(alerts: AlertSettings) -> list[ChannelView]:
    views = [ChannelView("log", True, alerts.log, (("where", "the Dagster daemon's log"),))]
    webhook, email, sns = alerts.webhook, alerts.email, alerts.sns
    views.append(
        ChannelView(
            "webhook",
            webhook is not None,
            bool(webhook and webhook.enabled),
            (
                ("host", _host(webhook.url)),
                ("headers", ", ".join(sorted(webhook.headers)) or "—"),
                ("headers from the environment", ", ".join(f"{k} ← ${v}" for k, v in sorted(webhook.headers_from_env.items())) or "—"),
            )
            if webhook
            else (),
        )
    )
    views.append(
        ChannelView(
            "email",
            email is not None,
            bool(email and email.enabled),
            (
                ("relay", f"{email.host}:{email.port} ({email.security})"),
                ("from", email.sender),
                ("to", ", ".join(email.recipients)),
                ("login", f"{email.username}, password from ${email.password_env}" if email.username else "none"),
            )
            if email
            else (),
        )
    )
    views.append(
        ChannelView(
            "sns",
            sns is not None,
            bool(sns and sns.enabled),
            (("topic", sns.topic_arn), ("region", sns.region or "from the topic")) if sns else (),
        )
    )
    return views


def _host(url: str) -> str:
    # Not netloc: it would carry a user:password@ written into the URL.
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def with_alarm(config: ProjectConfig, alarm: str, enabled: bool) -> ProjectConfig:
    if alarm not in ALARMS:
        raise ValueError(f"unknown alarm {alarm!r}")
    alerts = config.pipeline.alerts
    return _with_alerts(config, alerts.model_copy(update={"alarms": alerts.alarms.model_copy(update={alarm: enabled})}))


def with_channel(config: ProjectConfig, channel: str, enabled: bool) -> ProjectConfig:
    """Switch a channel; a webhook, email or SNS channel must be configured in the file first."""
    alerts = config.pipeline.alerts
    if channel == "log":
        return _with_alerts(config, alerts.model_copy(update={"log": enabled}))
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    settings = getattr(alerts, channel)
    if settings is None:
        raise ValueError(f"the {channel} channel is not configured (pipeline.alerts.{channel} in the project file)")
    return _with_alerts(config, alerts.model_copy(update={channel: settings.model_copy(update={"enabled": enabled})}))


def _with_alerts(config: ProjectConfig, alerts: AlertSettings) -> ProjectConfig:
    return config.model_copy(update={"pipeline": config.pipeline.model_copy(update={"alerts": alerts})})
