"""Data Management: an app's event catalogue (what the dbt catalogue models observed: events, their
parameters, user attributes) with the display names and descriptions Analysts give events."""
