"""One alert, rendered the same way for every channel."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

AlarmName = Literal["run_failure", "freshness", "quarantine_rate", "spool_depth", "data_tests"]


@dataclass(frozen=True)
class Alert:
    alarm: AlarmName
    title: str
    # What an operator reads first: what failed and, where known, why.
    description: str
    project_id: str
    severity: Literal["ERROR", "WARN"] = "ERROR"
    run_id: str | None = None
    job_name: str | None = None
    asset_key: str | None = None
    check_name: str | None = None
    details: dict[str, object] = field(default_factory=dict)
    timestamp: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def subject(self) -> str:
        return f"{self.severity} {self.project_id}: {self.title}"

    def text(self) -> str:
        """Plain text for email bodies, SNS messages and the log."""
        lines = [self.subject, "", self.description, ""]
        for label, value in (
            ("alarm", self.alarm),
            ("job", self.job_name),
            ("run", self.run_id),
            ("asset", self.asset_key),
            ("check", self.check_name),
            ("time", self.timestamp),
        ):
            if value:
                lines.append(f"{label}: {value}")
        for key, value in self.details.items():
            lines.append(f"{key}: {value}")
        return "\n".join(lines).rstrip() + "\n"

    def payload(self) -> dict[str, object]:
        """The webhook body. ``text`` is what Slack and Teams incoming webhooks display; the other
        keys are for receivers that route on them."""
        return {"text": self.text(), **asdict(self)}

    def to_json(self) -> bytes:
        return json.dumps(self.payload(), default=str, sort_keys=True).encode()
