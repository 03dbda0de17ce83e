"""The reports Analytics Studio offers, in menu order."""

from __future__ import annotations

from clickstream_console.studio import acquisition, activity, device, path
from clickstream_console.studio.model import Report

REPORTS: dict[str, Report] = {report.name: report for report in (acquisition.REPORT, activity.REPORT, device.REPORT, path.REPORT)}
