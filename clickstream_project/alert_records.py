"""What the alert sensors record about the alerts they sent, so that the console can show the last
alert of each alarm. The console reads it over Dagster's GraphQL API and never imports Dagster,
so the format lives here, once, for both sides.

- Failed asset checks: in the cursor of the ``alert_on_failed_checks`` sensor (GraphQL: the
  sensor's ``lastCursor``), next to the check executions the sensor has already looked at.
- Failed runs: as tags on the run that failed. The cursor of ``alert_on_run_failure`` belongs to
  Dagster's run-status machinery, which rejects a cursor from the sensor; the tags also show on
  the run's page in the Dagster UI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

RUN_FAILURE_SENSOR = "alert_on_run_failure"
FAILED_CHECKS_SENSOR = "alert_on_failed_checks"

# The alarm of the alert sent about a failed run (always RUN_FAILURE_ALARM): GraphQL filters runs
# on a tag's exact value, which finds the runs alerted about in one query.
ALERT_TAG = "clickstream/alert"
RUN_FAILURE_ALARM = "run_failure"
ALERT_SENT_AT_TAG = "clickstream/alert_sent_at"
ALERT_SUBJECT_TAG = "clickstream/alert_subject"
# Comma-separated channel names.
ALERT_DELIVERED_TAG = "clickstream/alert_delivered_to"
# A JSON object, channel name -> why it failed; absent when every channel took the alert.
ALERT_FAILED_TAG = "clickstream/alert_failed"


@dataclass(frozen=True)
class SentAlert:
    """One alert as sent: when, what its subject said, which channels took it and which failed."""

    alarm: str
    sent_at: datetime
    subject: str
    delivered_to: tuple[str, ...]
    # channel name -> the error that stopped it
    failed: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "alarm": self.alarm,
            "sent_at": self.sent_at.isoformat(),
            "subject": self.subject,
            "delivered_to": list(self.delivered_to),
            "failed": dict(self.failed),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, object]) -> SentAlert:
        return cls(
            alarm=str(value["alarm"]),
            sent_at=_utc(str(value["sent_at"])),
            subject=str(value["subject"]),
            delivered_to=tuple(str(name) for name in value.get("delivered_to") or ()),
            failed={str(k): str(v) for k, v in dict(value.get("failed") or {}).items()},
        )

    def to_run_tags(self) -> dict[str, str]:
        tags = {
            ALERT_TAG: self.alarm,
            ALERT_SENT_AT_TAG: self.sent_at.isoformat(),
            ALERT_SUBJECT_TAG: self.subject,
            ALERT_DELIVERED_TAG: ",".join(self.delivered_to),
        }
        if self.failed:
            tags[ALERT_FAILED_TAG] = json.dumps(dict(self.failed), sort_keys=True)
        return tags

    @classmethod
    def from_run_tags(cls, tags: Mapping[str, str]) -> SentAlert | None:
        """The alert recorded on a run, or None when the run has none (or a damaged one)."""
        if ALERT_TAG not in tags:
            return None
        try:
            return cls(
                alarm=tags[ALERT_TAG],
                sent_at=_utc(tags[ALERT_SENT_AT_TAG]),
                subject=tags.get(ALERT_SUBJECT_TAG, ""),
                delivered_to=tuple(name for name in tags.get(ALERT_DELIVERED_TAG, "").split(",") if name),
                failed=json.loads(tags.get(ALERT_FAILED_TAG) or "{}"),
            )
        except (KeyError, ValueError):
            return None


@dataclass(frozen=True)
class FailedChecksCursor:
    """The cursor of the failed-checks alert sensor."""

    # check key ("asset/key:check_name") -> (id of its newest execution looked at, whether that
    # one failed). From the check executions table, which works on every instance storage (event
    # log storage ids cannot page the default SQLite storage, which shards events by run).
    seen: Mapping[str, tuple[int, bool]] = field(default_factory=dict)
    # alarm -> the last alert sent for it
    last_alerts: Mapping[str, SentAlert] = field(default_factory=dict)

    def encode(self) -> str:
        value = {
            "seen": {key: list(entry) for key, entry in self.seen.items()},
            "last_alerts": {alarm: alert.to_json() for alarm, alert in self.last_alerts.items()},
        }
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str | None) -> FailedChecksCursor:
        """Also reads the cursor of earlier versions, which was ``seen`` alone. A damaged cursor
        reads as empty (nothing seen, nothing sent), as it did before."""
        if not cursor:
            return cls()
        try:
            value = json.loads(cursor)
            seen, last_alerts = (value["seen"], value.get("last_alerts") or {}) if isinstance(value.get("seen"), dict) else (value, {})
            return cls(
                seen={str(key): (int(entry[0]), bool(entry[1])) for key, entry in seen.items()},
                last_alerts={str(alarm): SentAlert.from_json(alert) for alarm, alert in last_alerts.items()},
            )
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError, IndexError, KeyError):
            return cls()


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
