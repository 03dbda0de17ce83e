"""The last alert sent for each alarm, from where the alert sensors record it
(``clickstream_project/alert_records.py``): failed checks in the check sensor's cursor, failed
runs in tags on the run."""

from __future__ import annotations

from clickstream_console.dagster_api.client import ERROR_FIELDS, DagsterClient, expect
from clickstream_project.alert_records import ALERT_TAG, FAILED_CHECKS_SENSOR, RUN_FAILURE_ALARM, FailedChecksCursor, SentAlert

# Runs are listed newest created first; one created earlier can fail (and alert) later than a
# newer one, so the newest alert is looked for among a few.
RECENT_ALERTED_RUNS = 10


def last_alerts(client: DagsterClient) -> dict[str, SentAlert]:
    """alarm -> the last alert sent for it; alarms that never sent one are absent."""
    data = client.query(
        f"query($tags: [ExecutionTag!], $limit: Int) {{ "
        f"repositoriesOrError {{ {ERROR_FIELDS} ... on RepositoryConnection {{ nodes {{ sensors {{ name "
        "sensorState { typeSpecificData { ... on SensorData { lastCursor } } } } } } } "
        f"runsOrError(filter: {{tags: $tags}}, limit: $limit) {{ {ERROR_FIELDS} ... on Runs {{ results {{ tags {{ key value }} }} }} }} }}",
        {"tags": [{"key": ALERT_TAG, "value": RUN_FAILURE_ALARM}], "limit": RECENT_ALERTED_RUNS},
    )
    found: list[SentAlert] = []
    for repository in expect(data["repositoriesOrError"], "RepositoryConnection")["nodes"]:
        for sensor in repository["sensors"]:
            if sensor["name"] == FAILED_CHECKS_SENSOR:
                cursor = (sensor["sensorState"]["typeSpecificData"] or {}).get("lastCursor")
                found.extend(FailedChecksCursor.decode(cursor).last_alerts.values())
    for run in expect(data["runsOrError"], "Runs")["results"]:
        alert = SentAlert.from_run_tags({tag["key"]: tag["value"] for tag in run["tags"]})
        if alert is not None:
            found.append(alert)
    latest: dict[str, SentAlert] = {}
    for alert in sorted(found, key=lambda alert: alert.sent_at):
        latest[alert.alarm] = alert
    return latest
