"""The Alarms page: each alarm and alert channel of ``pipeline.alerts``, switched on and off in the
project file, and the last alert sent for each alarm."""
