"""Where alerts go: the log (default), a webhook, email over SMTP, an SNS topic.

Each channel sends one alert or raises ``AlertDeliveryError``; ``deliver`` tries every channel
so that a broken webhook does not swallow the email, and reports what failed.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from clickstream_dagster.alerts.message import Alert
from clickstream_project.operations_settings import AlertSettings, EmailChannel, SnsChannel, WebhookChannel

# SNS rejects subjects longer than 100 characters.
SNS_SUBJECT_LIMIT = 100


class AlertDeliveryError(RuntimeError):
    """A channel could not deliver an alert; the message names the channel and the cause."""


class Channel(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


@dataclass
class LogChannel:
    logger: logging.Logger
    name: str = "log"

    def send(self, alert: Alert) -> None:
        level = logging.ERROR if alert.severity == "ERROR" else logging.WARNING
        self.logger.log(level, "ALERT %s", alert.text())


@dataclass
class WebhookSender:
    settings: WebhookChannel
    name: str = "webhook"

    def send(self, alert: Alert) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": "clickstream-alerts", **self.settings.headers}
        for header, variable in self.settings.headers_from_env.items():
            value = os.environ.get(variable)
            if value is None:
                raise AlertDeliveryError(f"webhook: header {header!r} needs environment variable {variable}, which is not set")
            headers[header] = value
        request = urllib.request.Request(self.settings.url, data=alert.to_json(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_seconds) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise AlertDeliveryError(f"webhook {self.settings.url} answered {error.code} {error.reason}") from error
        except (urllib.error.URLError, OSError) as error:
            raise AlertDeliveryError(f"webhook {self.settings.url} unreachable: {error}") from error


@dataclass
class EmailSender:
    settings: EmailChannel
    name: str = "email"

    def message(self, alert: Alert) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = f"{self.settings.subject_prefix} {alert.subject}".strip()
        message["From"] = self.settings.sender
        message["To"] = ", ".join(self.settings.recipients)
        message.set_content(alert.text())
        return message

    def send(self, alert: Alert) -> None:
        settings = self.settings
        password = None
        if settings.password_env:
            password = os.environ.get(settings.password_env)
            if password is None:
                raise AlertDeliveryError(f"email: environment variable {settings.password_env} (password_env) is not set")
        try:
            if settings.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=settings.timeout_seconds, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
            with client:
                if settings.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if settings.username and password is not None:
                    client.login(settings.username, password)
                client.send_message(self.message(alert))
        except (smtplib.SMTPException, OSError) as error:
            raise AlertDeliveryError(f"email via {settings.host}:{settings.port} failed: {error}") from error


@dataclass
class SnsSender:
    settings: SnsChannel
    name: str = "sns"

    def client(self):
        import boto3

        return boto3.client(
            "sns", region_name=self.settings.region or _arn_region(self.settings.topic_arn), endpoint_url=self.settings.endpoint_url
        )

    def send(self, alert: Alert) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        params: dict[str, object] = {
            "TopicArn": self.settings.topic_arn,
            "Subject": _sns_subject(alert.subject),
            "Message": alert.text(),
            # Subscriptions can filter on these (only freshness alarms to the on-call pager...).
            "MessageAttributes": {
                "alarm": {"DataType": "String", "StringValue": alert.alarm},
                "severity": {"DataType": "String", "StringValue": alert.severity},
            },
        }
        if self.settings.topic_arn.endswith(".fifo"):
            params["MessageGroupId"] = alert.alarm
            params["MessageDeduplicationId"] = f"{alert.alarm}:{alert.run_id or ''}:{alert.check_name or ''}:{alert.timestamp}"
        try:
            self.client().publish(**params)
        except (BotoCoreError, ClientError) as error:
            raise AlertDeliveryError(f"sns {self.settings.topic_arn}: {error}") from error


def _arn_region(arn: str) -> str:
    return arn.split(":")[3]


def _sns_subject(subject: str) -> str:
    # SNS subjects are ASCII without line breaks, at most 100 characters.
    clean = "".join(c if 32 <= ord(c) < 127 else " " for c in subject)
    return clean if len(clean) <= SNS_SUBJECT_LIMIT else clean[: SNS_SUBJECT_LIMIT - 3] + "..."


def channels_from_settings(settings: AlertSettings, logger: logging.Logger) -> list[Channel]:
    """The enabled channels, in the order they are tried (the log first: it cannot fail)."""
    channels: list[Channel] = []
    if settings.log:
        channels.append(LogChannel(logger))
    if settings.webhook and settings.webhook.enabled:
        channels.append(WebhookSender(settings.webhook))
    if settings.email and settings.email.enabled:
        channels.append(EmailSender(settings.email))
    if settings.sns and settings.sns.enabled:
        channels.append(SnsSender(settings.sns))
    return channels


@dataclass(frozen=True)
class Delivery:
    """Which channels took an alert, and why the others did not."""

    delivered_to: tuple[str, ...]
    # channel name -> its error
    failed: dict[str, str]


def deliver(alert: Alert, channels: Sequence[Channel]) -> Delivery:
    """Send to every channel: a failed delivery must not hide the alert from the other channels
    (the caller logs the failures)."""
    delivered: list[str] = []
    failed: dict[str, str] = {}
    for channel in channels:
        try:
            channel.send(alert)
            delivered.append(channel.name)
        except AlertDeliveryError as error:
            failed[channel.name] = str(error)
    return Delivery(tuple(delivered), failed)
