"""Alert delivery to a local webhook receiver, a local SMTP server and SNS (moto), and the two
alert sensors: failed runs and failed asset checks, each alarm switchable from the config."""

import json
import logging
from datetime import UTC, datetime

import boto3
import dagster as dg
import pytest
from moto import mock_aws

from clickstream_dagster.alerts.channels import (
    AlertDeliveryError,
    EmailSender,
    LogChannel,
    SnsSender,
    WebhookSender,
    channels_from_settings,
    deliver,
)
from clickstream_dagster.alerts.message import Alert
from clickstream_dagster.alerts.sensors import alarm_for_check, build_alert_sensors
from clickstream_project.alert_records import ALERT_TAG, FailedChecksCursor, SentAlert
from clickstream_project.config import ConfigError
from clickstream_project.operations_settings import AlertSettings
from tests.conftest import make_config
from tests.dagster.receivers import smtp_receiver, webhook_receiver

ALERT = Alert(alarm="freshness", title="check freshness_check failed on lake/ods_events", description="not updated for 3 hours",
              project_id="test_project", severity="WARN", asset_key="lake/ods_events", check_name="freshness_check",
              details={"dagster/overdue_seconds": 3600})  # fmt: skip


def alert_settings(**fields) -> AlertSettings:
    return AlertSettings.model_validate(fields)


class Recorder:
    """A channel that keeps what it was sent."""

    name = "recorder"

    def __init__(self):
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


class Unreachable:
    """A channel that always fails."""

    name = "webhook"

    def send(self, alert: Alert) -> None:
        raise AlertDeliveryError("webhook http://127.0.0.1:9/ unreachable: connection refused")


# Channels ------------------------------------------------------------------------------------


def test_webhook_posts_the_alert_as_json_with_secret_header(monkeypatch):
    monkeypatch.setenv("ALERT_TOKEN", "s3cret")
    with webhook_receiver() as (url, received):
        settings = alert_settings(
            webhook={"url": url + "/hook", "headers": {"X-Source": "tests"}, "headers_from_env": {"Authorization": "ALERT_TOKEN"}}
        )
        WebhookSender(settings.webhook).send(ALERT)
    [request] = received.requests
    body = json.loads(request["body"])
    assert request["path"] == "/hook"
    assert request["headers"]["Authorization"] == "s3cret" and request["headers"]["X-Source"] == "tests"
    assert request["headers"]["Content-Type"] == "application/json"
    assert body["alarm"] == "freshness" and body["asset_key"] == "lake/ods_events" and body["severity"] == "WARN"
    assert body["text"].startswith("WARN test_project: check freshness_check failed on lake/ods_events\n")
    assert "dagster/overdue_seconds: 3600" in body["text"]


def test_email_is_sent_through_smtp_with_login(monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", "pw")
    with smtp_receiver() as (port, mailbox):
        settings = alert_settings(email={"host": "127.0.0.1", "port": port, "security": "none", "username": "alerts",
                                         "password_env": "SMTP_PASSWORD", "sender": "clickstream@example.com",
                                         "recipients": ["ops@example.com", "data@example.com"]})  # fmt: skip
        EmailSender(settings.email).send(ALERT)
    [mail] = mailbox.mails
    assert mail.login == ("alerts", "pw")
    assert mail.sender == "clickstream@example.com" and mail.recipients == ["ops@example.com", "data@example.com"]
    assert mail.message["Subject"] == "[clickstream] WARN test_project: check freshness_check failed on lake/ods_events"
    assert "not updated for 3 hours" in mail.message.get_content()


def test_sns_publishes_with_alarm_attributes(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        sns, sqs = boto3.client("sns", region_name="eu-west-1"), boto3.client("sqs", region_name="eu-west-1")
        topic = sns.create_topic(Name="clickstream-alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        long_title = Alert(**{**ALERT.__dict__, "title": "x" * 150})

        SnsSender(alert_settings(sns={"topic_arn": topic}).sns).send(long_title)

        [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    envelope = json.loads(message["Body"])
    assert len(envelope["Subject"]) == 100 and envelope["Subject"].endswith("...")
    assert "not updated for 3 hours" in envelope["Message"]
    assert envelope["MessageAttributes"]["alarm"]["Value"] == "freshness"


def test_a_failing_channel_does_not_stop_the_others():
    recorder = Recorder()
    with webhook_receiver() as (url, received):
        received.status = 500
        delivery = deliver(ALERT, [WebhookSender(alert_settings(webhook={"url": url}).webhook), recorder])
    assert recorder.alerts == [ALERT]
    assert delivery.delivered_to == ("recorder",)
    assert list(delivery.failed) == ["webhook"] and delivery.failed["webhook"].startswith(f"webhook {url} answered 500")


def test_missing_secret_is_a_delivery_error_naming_the_variable(monkeypatch):
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    settings = alert_settings(
        email={"host": "127.0.0.1", "username": "u", "password_env": "SMTP_PASSWORD", "sender": "a@b.c", "recipients": ["o@b.c"]}
    )
    delivery = deliver(ALERT, [EmailSender(settings.email)])
    assert delivery.delivered_to == () and "SMTP_PASSWORD (password_env) is not set" in delivery.failed["email"]


def test_only_enabled_channels_are_used():
    logger = logging.getLogger("test")
    assert [c.name for c in channels_from_settings(AlertSettings(), logger)] == ["log"]
    settings = alert_settings(log=False, webhook={"url": "http://127.0.0.1:9/", "enabled": False},
                              sns={"topic_arn": "arn:aws:sns:eu-west-1:123456789012:alerts"})  # fmt: skip
    assert [c.name for c in channels_from_settings(settings, logger)] == ["sns"]


def test_log_channel_logs_at_the_alert_severity(caplog):
    with caplog.at_level(logging.WARNING, logger="alerts-test"):
        LogChannel(logging.getLogger("alerts-test")).send(ALERT)
    assert caplog.records[0].levelno == logging.WARNING and "check freshness_check failed" in caplog.records[0].getMessage()


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ({"webhook": {"url": "hooks.example.com"}}, "pipeline.alerts.webhook.url: must match"),
        (
            {"email": {"host": "smtp", "sender": "a@b.c", "recipients": ["o@b.c"], "username": "u"}},
            "pipeline.alerts.email: Value error, set both username and password_env",
        ),
        (
            {"email": {"host": "smtp", "sender": "a@b.c", "recipients": []}},
            "pipeline.alerts.email.recipients: List should have at least 1 item",
        ),
        ({"email": {"host": "smtp", "sender": "a@b.c", "recipients": ["o@b.c"], "security": "tls"}}, "pipeline.alerts.email.security"),
        ({"sns": {"topic_arn": "clickstream-alerts"}}, "pipeline.alerts.sns.topic_arn: must match"),
        ({"alarms": {"freshnes": False}}, "pipeline.alerts.alarms.freshnes: unknown field"),
    ],
)
def test_bad_alert_settings_name_the_field(tmp_path, alerts, message):
    with pytest.raises(ConfigError) as error:
        make_config(tmp_path, pipeline={"alerts": alerts})
    assert message in str(error.value)


# Sensors -------------------------------------------------------------------------------------


@dg.op
def explode():
    raise ValueError("raw lake unreachable")


@dg.job
def failing_job():
    explode()


def run_failure_tick(settings: AlertSettings, channel_factory, instance: dg.DagsterInstance | None = None):
    instance = instance or dg.DagsterInstance.ephemeral()
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    failure = next(event for event in result.all_events if event.event_type_value == "PIPELINE_FAILURE")
    sensor = build_alert_sensors("test_project", settings, channel_factory)[0]
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance, dagster_run=result.dagster_run, dagster_event=failure
    ).for_run_failure()
    return result, sensor(context)


def test_run_failure_is_delivered_to_the_webhook():
    with webhook_receiver() as (url, received):
        settings = alert_settings(log=False, webhook={"url": url})
        result, _ = run_failure_tick(settings, channels_from_settings)
    [request] = received.requests
    body = json.loads(request["body"])
    assert body["alarm"] == "run_failure" and body["job_name"] == "failing_job" and body["run_id"] == result.run_id
    assert "explode" in body["description"]


def test_run_failure_alert_is_recorded_on_the_failed_run():
    recorder, instance = Recorder(), dg.DagsterInstance.ephemeral()
    result, _ = run_failure_tick(AlertSettings(), lambda settings, log: [recorder, Unreachable()], instance)
    [alert] = recorder.alerts
    sent = SentAlert.from_run_tags(instance.get_run_by_id(result.run_id).tags)
    assert sent == SentAlert(
        alarm="run_failure",
        sent_at=datetime.fromisoformat(alert.timestamp),
        subject="ERROR test_project: run of failing_job failed",
        delivered_to=("recorder",),
        failed={"webhook": "webhook http://127.0.0.1:9/ unreachable: connection refused"},
    )


def test_disabled_run_failure_alarm_sends_nothing():
    recorder, instance = Recorder(), dg.DagsterInstance.ephemeral()
    result, outcome = run_failure_tick(alert_settings(alarms={"run_failure": False}), lambda settings, log: [recorder], instance)
    assert recorder.alerts == [] and isinstance(outcome, dg.SkipReason)
    assert ALERT_TAG not in instance.get_run_by_id(result.run_id).tags


ODS = dg.AssetKey(["lake", "ods_events"])


@dg.asset(
    key=ODS, check_specs=[dg.AssetCheckSpec("quarantine_rate", asset=ODS), dg.AssetCheckSpec("unique_ods_events_event_id", asset=ODS)]
)
def checked_asset(context: dg.AssetExecutionContext):
    passed = context.run.tags.get("outcome") == "pass"
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="quarantine_rate", passed=passed, metadata={"ratio": 0.4}, description="40% quarantined")
    yield dg.AssetCheckResult(check_name="unique_ods_events_event_id", passed=True)


def check_tick(instance, cursor, settings, recorder):
    sensor = build_alert_sensors("test_project", settings, lambda s, log: [recorder])[1]
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=dg.Definitions(assets=[checked_asset]))
    return sensor(context)


@pytest.fixture
def instance():
    # On disk, like `dagster dev`: its SQLite event log is sharded by run, which a cursor over
    # event storage ids cannot page through (the sensor once did, and failed every tick).
    with dg.instance_for_test() as instance:
        yield instance


def test_failed_checks_are_sent_once_from_the_cursor_on(instance):
    recorder, settings = Recorder(), AlertSettings()
    dg.materialize([checked_asset], instance=instance, tags={"outcome": "fail"})

    first = check_tick(instance, None, settings, recorder)
    assert recorder.alerts == []  # history before the sensor started is not sent

    run = dg.materialize([checked_asset], instance=instance, tags={"outcome": "fail"})
    second = check_tick(instance, first.cursor, settings, recorder)
    [alert] = recorder.alerts
    assert alert.alarm == "quarantine_rate" and alert.asset_key == "lake/ods_events" and alert.run_id == run.run_id
    assert alert.description == "40% quarantined" and alert.details == {"ratio": 0.4}
    assert second.cursor != first.cursor

    check_tick(instance, second.cursor, settings, recorder)
    assert len(recorder.alerts) == 1  # nothing new, nothing sent

    dg.materialize([checked_asset], instance=instance, tags={"outcome": "fail"})
    third = check_tick(instance, second.cursor, settings, recorder)
    assert len(recorder.alerts) == 1  # still failing: already alerted

    dg.materialize([checked_asset], instance=instance, tags={"outcome": "pass"})
    fourth = check_tick(instance, third.cursor, settings, recorder)
    assert len(recorder.alerts) == 1  # passing again is not an alarm
    dg.materialize([checked_asset], instance=instance, tags={"outcome": "fail"})
    check_tick(instance, fourth.cursor, settings, recorder)
    assert len(recorder.alerts) == 2  # failing after a pass is


def test_failed_check_of_a_disabled_alarm_is_not_sent(instance):
    recorder = Recorder()
    first = check_tick(instance, None, AlertSettings(), recorder)
    dg.materialize([checked_asset], instance=instance, tags={"outcome": "fail"})
    check_tick(instance, first.cursor, alert_settings(alarms={"quarantine_rate": False}), recorder)
    assert recorder.alerts == []


def test_the_last_alert_of_each_alarm_is_kept_in_the_cursor(instance):
    recorder, settings = Recorder(), AlertSettings()
    first = check_tick(instance, None, settings, recorder)
    assert FailedChecksCursor.decode(first.cursor).last_alerts == {}

    dg.materialize([checked_asset], instance=instance, tags={"outcome": "fail"})
    second = check_tick(instance, first.cursor, settings, recorder)
    [alert] = recorder.alerts
    last_alerts = FailedChecksCursor.decode(second.cursor).last_alerts
    assert last_alerts == {
        "quarantine_rate": SentAlert("quarantine_rate", datetime.fromisoformat(alert.timestamp), alert.subject, ("recorder",), {})
    }

    dg.materialize([checked_asset], instance=instance, tags={"outcome": "pass"})
    third = check_tick(instance, second.cursor, settings, recorder)
    assert FailedChecksCursor.decode(third.cursor).last_alerts == last_alerts  # ticks that send nothing keep it


def test_a_cursor_of_the_earlier_format_keeps_what_it_had_seen(instance):
    recorder, settings = Recorder(), AlertSettings()
    dg.materialize([checked_asset], instance=instance, tags={"outcome": "fail"})
    seen = FailedChecksCursor.decode(check_tick(instance, None, settings, recorder).cursor).seen
    earlier = json.dumps({key: list(entry) for key, entry in seen.items()})  # the whole cursor was `seen`

    outcome = check_tick(instance, earlier, settings, recorder)
    assert recorder.alerts == []  # read as empty, the failed check would be sent now
    assert set(json.loads(outcome.cursor)["seen"]) == set(seen)  # written back in the new format


def test_the_cursor_survives_a_round_trip_and_damage():
    sent = SentAlert("freshness", datetime(2026, 5, 1, 12, 0, tzinfo=UTC), "ERROR p: check failed", ("log",), {"sns": "denied"})
    cursor = FailedChecksCursor(seen={"lake/ods_events:freshness_check": (7, True)}, last_alerts={"freshness": sent})
    assert FailedChecksCursor.decode(cursor.encode()) == cursor
    assert SentAlert.from_run_tags(sent.to_run_tags()) == sent
    for damaged in ("{", "[]", '{"seen": {"k": 5}}', '{"seen": {}, "last_alerts": {"freshness": {}}}'):
        assert FailedChecksCursor.decode(damaged) == FailedChecksCursor()
    assert SentAlert.from_run_tags({ALERT_TAG: "run_failure", "clickstream/alert_sent_at": "yesterday"}) is None


def test_the_sensors_say_where_alerts_go_and_which_alarms_are_off():
    settings = alert_settings(alarms={"freshness": False, "run_failure": False}, webhook={"url": "http://127.0.0.1:9/"})
    run_sensor, check_sensor = build_alert_sensors("test_project", settings)
    assert run_sensor.description.endswith(" Channels: log, webhook. Disabled alarms: run_failure.")
    assert check_sensor.description.endswith(" Channels: log, webhook. Disabled alarms: freshness.")
    assert build_alert_sensors("test_project", alert_settings(log=False))[1].description.endswith(" Channels: none.")


@pytest.mark.parametrize(
    ("check_name", "alarm"),
    [
        ("freshness_check", "freshness"),
        ("quarantine_rate", "quarantine_rate"),
        ("spool_depth", "spool_depth"),
        ("not_null_ods_events_event_id", "data_tests"),
    ],
)
def test_checks_map_to_their_alarm(check_name, alarm):
    assert alarm_for_check(check_name) == alarm
