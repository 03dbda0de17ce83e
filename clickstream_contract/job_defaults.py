"""Defaults the project configuration and the Spark job's command line share, so a job started
by hand (``python -m plugins.job``) processes the way one Dagster starts does."""

# The built-in transformer: the official SDKs' events to the 25 ods_events columns.
DEFAULT_TRANSFORMER = "plugins.sdk_transformer.SdkTransformer"
# The transformer of a Cognito Streams source (pipeline.sources): one row per changed key.
COGNITO_TRANSFORMER = "plugins.examples.cognito_sync.CognitoSyncTransformer"
# Events older than this at arrival are stale (the product's event freshness, 72 hours).
DEFAULT_EVENT_FRESHNESS_HOURS = 72
# Events this far ahead of their arrival are from the future: phones' clocks drift a little.
DEFAULT_FUTURE_TOLERANCE_MINUTES = 15
