"""The reports Analytics Studio offers, in menu order."""

from __future__ import annotations

from clickstream_console.studio import activity, engagement, retention
from clickstream_console.studio.model import Report

REPORTS: dict[str, Report] = {report.name: report for report in (engagement.REPORT, activity.REPORT, retention.REPORT)}
