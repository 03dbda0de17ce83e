"""The alert sensors: one for failed runs, one for failed asset checks (freshness, quarantine
rate, spool depth, dbt tests). Both send to the channels of ``pipeline.alerts``; an alarm that
is switched off is not sent (the run sensor says so in its skip reason, the check sensor in its
log).

A check alerts when it goes from passing (or never seen) to failing: a freshness check that
fails every five minutes through a quiet night alerts once, and again only after it has passed
in between. One that failed and passed again between two ticks (30 s by default) does not alert.

Both sensors are RUNNING by default: an alarm nobody turned on is no alarm.

Each records the last alert it sent (time, subject, the channels that took it and those that
failed) where the console reads it over GraphQL: ``clickstream_project/alert_records.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from clickstream_dagster.alerts.channels import Channel, channels_from_settings, deliver
from clickstream_dagster.alerts.message import AlarmName, Alert
from clickstream_dagster.names import (
    FRESHNESS_CHECK_NAME,
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITION_TAG,
    QUARANTINE_CHECK_NAME,
    SPOOL_CHECK_NAME,
)
from clickstream_project.alert_records import FAILED_CHECKS_SENSOR, RUN_FAILURE_SENSOR, FailedChecksCursor, SentAlert
from clickstream_project.operations_settings import AlertSettings

ChannelFactory = Callable[[AlertSettings, logging.Logger], Sequence[Channel]]


def alarm_for_check(check_name: str) -> AlarmName:
    """The alarm a failed check raises: freshness, quarantine rate and spool depth have their
    own; every other check is a data test (dbt)."""
    if check_name == FRESHNESS_CHECK_NAME:
        return "freshness"
    if check_name == QUARANTINE_CHECK_NAME:
        return "quarantine_rate"
    if check_name == SPOOL_CHECK_NAME:
        return "spool_depth"
    return "data_tests"


def run_failure_alert(project_id: str, run: dg.DagsterRun, failure_message: str | None) -> Alert:
    partition = run.tags.get(PARTITION_TAG) or (
        f"{run.tags[PARTITION_RANGE_START_TAG]}..{run.tags[PARTITION_RANGE_END_TAG]}" if PARTITION_RANGE_START_TAG in run.tags else None
    )
    details: dict[str, object] = {"partition": partition} if partition else {}
    return Alert(
        alarm="run_failure",
        title=f"run of {run.job_name} failed",
        description=failure_message or "the run failed (see its logs in the Dagster UI)",
        project_id=project_id,
        run_id=run.run_id,
        job_name=run.job_name,
        details=details,
    )


def check_failure_alert(project_id: str, evaluation, run_id: str | None) -> Alert:
    """An alert from an ``AssetCheckEvaluation`` that did not pass."""
    details = {key: value.value for key, value in evaluation.metadata.items() if not key.startswith("dagster/freshness_params")}
    asset = evaluation.asset_key.to_user_string()
    return Alert(
        alarm=alarm_for_check(evaluation.check_name),
        title=f"check {evaluation.check_name} failed on {asset}",
        description=evaluation.description or f"asset check {evaluation.check_name} on {asset} did not pass",
        project_id=project_id,
        severity="WARN" if evaluation.severity == dg.AssetCheckSeverity.WARN else "ERROR",
        run_id=run_id,
        asset_key=asset,
        check_name=evaluation.check_name,
        details=details,
    )


def _send(alert: Alert, channels: Sequence[Channel], log: logging.Logger) -> SentAlert:
    delivery = deliver(alert, channels)
    for channel, error in delivery.failed.items():
        log.error(f"alert {alert.title!r} not delivered to {channel}: {error}")
    return SentAlert(
        alarm=alert.alarm,
        sent_at=datetime.fromisoformat(alert.timestamp),
        subject=alert.subject,
        delivered_to=delivery.delivered_to,
        failed=delivery.failed,
    )


CHECK_ALARMS: tuple[AlarmName, ...] = ("freshness", "quarantine_rate", "spool_depth", "data_tests")


def settings_note(settings: AlertSettings, alarms: Sequence[AlarmName]) -> str:
    """What a sensor's description adds about the settings it was loaded with, so the Dagster UI
    (and the console, which reads it) shows which alarms are off and where alerts go."""
    disabled = [alarm for alarm in alarms if not getattr(settings.alarms, alarm)]
    channels = [channel.name for channel in channels_from_settings(settings, logging.getLogger(__name__))]
    note = f" Channels: {', '.join(channels) or 'none'}."
    return note + (f" Disabled alarms: {', '.join(disabled)}." if disabled else "")


def build_alert_sensors(
    project_id: str, settings: AlertSettings, channel_factory: ChannelFactory = channels_from_settings
) -> list[dg.SensorDefinition]:
    """The two alert sensors for a project's alert settings (read when the definitions load)."""

    @dg.run_failure_sensor(
        name=RUN_FAILURE_SENSOR,
        minimum_interval_seconds=settings.minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Sends failed runs to the alert channels (pipeline.alerts)." + settings_note(settings, ["run_failure"]),
    )
    def alert_on_run_failure(context: dg.RunFailureSensorContext):
        if not settings.alarms.run_failure:
            return dg.SkipReason("alarm run_failure is disabled (pipeline.alerts.alarms.run_failure)")
        alert = run_failure_alert(project_id, context.dagster_run, context.failure_event.message)
        sent = _send(alert, channel_factory(settings, context.log), context.log)
        # The console's "last alert sent" (clickstream_project/alert_records.py).
        context.instance.add_run_tags(context.dagster_run.run_id, sent.to_run_tags())

    @dg.sensor(
        name=FAILED_CHECKS_SENSOR,
        minimum_interval_seconds=settings.minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Sends failed asset checks (freshness, quarantine rate, spool depth, dbt tests) to the alert channels."
        + settings_note(settings, CHECK_ALARMS),
    )
    def alert_on_failed_checks(context: dg.SensorEvaluationContext):
        check_keys = context.repository_def.asset_graph.asset_check_keys if context.repository_def else set()
        latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(list(check_keys))
        cursor = FailedChecksCursor.decode(context.cursor)
        seen = cursor.seen
        # Executions still planned (running) keep their id when they resolve: look again later.
        resolved = {
            key.to_user_string(): (record.id, record.status == AssetCheckExecutionRecordStatus.FAILED)
            for key, record in latest.items()
            if record.status != AssetCheckExecutionRecordStatus.PLANNED
        }
        if context.cursor is None:
            # First tick: start from now; alerting every failure in the history would be noise.
            # Nothing counts as alerted yet, so a check still failing alerts on its next run.
            return dg.SensorResult(
                cursor=FailedChecksCursor(seen={k: (execution_id, False) for k, (execution_id, _) in resolved.items()}).encode()
            )
        channels = None
        last_alerts = dict(cursor.last_alerts)
        sent = skipped = 0
        for key, record in sorted(latest.items(), key=lambda item: item[1].id):
            previous_id, previously_failed = seen.get(key.to_user_string(), (None, False))
            if record.id == previous_id or record.status != AssetCheckExecutionRecordStatus.FAILED or previously_failed:
                continue
            evaluation = record.event.dagster_event.event_specific_data if record.event and record.event.dagster_event else None
            if evaluation is None:
                continue
            alarm = alarm_for_check(evaluation.check_name)
            if not getattr(settings.alarms, alarm):
                skipped += 1
                continue
            channels = channels if channels is not None else channel_factory(settings, context.log)
            last_alerts[alarm] = _send(check_failure_alert(project_id, evaluation, record.run_id), channels, context.log)
            sent += 1
        if skipped:
            context.log.info(f"{skipped} failed check(s) of disabled alarms not sent")
        return dg.SensorResult(
            cursor=FailedChecksCursor({**seen, **resolved}, last_alerts).encode(), skip_reason=None if sent else "no newly failed checks"
        )

    return [alert_on_run_failure, alert_on_failed_checks]
