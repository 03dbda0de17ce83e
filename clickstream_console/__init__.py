"""The web console (issue 13): projects and apps, pipeline, alarms, plugins, users and roles.

It imports the project model (``clickstream_project``) and never Dagster's internals: it talks to
Dagster through its GraphQL API.
"""
