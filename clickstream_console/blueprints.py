"""The areas of the console, one blueprint each."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from clickstream_console.alarms.views import blueprint as alarms
    from clickstream_console.auth.views import blueprint as auth
    from clickstream_console.catalogue.views import blueprint as catalogue
    from clickstream_console.cognito.views import blueprint as cognito
    from clickstream_console.explore.views import blueprint as explore
    from clickstream_console.home.views import blueprint as home
    from clickstream_console.pipeline.views import blueprint as pipeline
    from clickstream_console.plugins.views import blueprint as plugins
    from clickstream_console.projects.views import blueprint as projects
    from clickstream_console.studio.custom.views import blueprint as studio_custom
    from clickstream_console.studio.views import blueprint as studio
    from clickstream_console.system.views import blueprint as system

    for blueprint in (auth, home, projects, pipeline, alarms, plugins, studio, studio_custom, explore, catalogue, cognito, system):
        app.register_blueprint(blueprint)
