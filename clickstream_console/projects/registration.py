"""Registering an app from the console's form: the same model and the same writer as
``clickstream app register`` (clickstream_project), with each problem reported under the form
field it belongs to."""

from __future__ import annotations

import typing
import zoneinfo
from dataclasses import dataclass, field

from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from clickstream_console.project_source import ProjectSource
from clickstream_project.apps import register_app
from clickstream_project.config import App, ConfigError, Platform, error_message

FIELDS = ("app_id", "name", "platforms", "package_name", "time_zone", "description")
PLATFORMS = typing.get_args(Platform)
# What the time-zone box suggests: the zone database's names (any of them is accepted).
TIME_ZONE_SUGGESTIONS = sorted(zoneinfo.available_timezones() - {"UTC"})
# Pydantic's words where a form can say it better (its own speak of "items after validation").
_FORM_WORDING = {("platforms", "too_short"): "Choose at least one platform."}


@dataclass
class AppForm:
    """What was typed, to show again with the problems next to their fields."""

    values: dict[str, str | list[str]] = field(default_factory=lambda: {"platforms": []})
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_request(cls, form: MultiDict[str, str]) -> AppForm:
        values: dict[str, str | list[str]] = {name: form.get(name, "").strip() for name in FIELDS if name != "platforms"}
        values["platforms"] = list(dict.fromkeys(form.getlist("platforms")))
        return cls(values=values)

    def app(self) -> App | None:
        """The app the form describes, or None with ``errors`` filled in."""
        # An empty box is a missing value ("Field required"), not a value failing its pattern.
        fields = {name: value for name, value in self.values.items() if value != ""}
        try:
            return App.model_validate(fields)
        except ValidationError as error:
            for item in error.errors():
                name = str(item["loc"][0])
                message = _FORM_WORDING.get((name, item["type"])) or error_message(item).removeprefix("Value error, ")
                self.errors.setdefault(name, []).append(message)
            return None


def register(source: ProjectSource, form: AppForm) -> App | None:
    """Add the form's app to the project file (and write its SDK configuration), under the
    file's lock so a concurrent change is neither lost nor overwritten. None: ``form.errors``
    says why, and nothing was written. A file that cannot be written raises RegistrationError
    (and neither file changes)."""
    app = form.app()
    if app is None:
        return None
    with source.exclusive() as config:
        try:
            register_app(config, app, source.path)
        except ConfigError as error:
            # The only refusal of ProjectConfig.with_app: the id is taken (ids are case-insensitive).
            form.errors["app_id"] = [str(error)]
            return None
    return app
