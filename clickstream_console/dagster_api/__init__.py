"""What the console needs from Dagster, through the webserver's GraphQL API only (the console
never imports Dagster): runs, sensors and schedules with their switches, asset checks, the last
alert of each alarm, and reloading a code location after the console changed the configuration.

``client`` owns the HTTP side and the errors; each other module is one area of the API and
returns plain frozen dataclasses. The queries ask for the few fields the pages show; the types
are those of dagster-graphql 1.13 (the version pyproject.toml pins).
"""
