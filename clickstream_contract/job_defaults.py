"""Defaults the project configuration and the Spark job's command line share, so a job started
by hand (``python -m plugins.job``) processes the way one Dagster starts does."""

# The built-in transformer: the official SDKs' events to the 25 ods_events columns.
DEFAULT_TRANSFORMER = "plugins.sdk_transformer.SdkTransformer"
