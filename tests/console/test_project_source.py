"""The project file as the console reads and writes it: edits from elsewhere show at once, and
changes made at the same time never overwrite each other."""

from __future__ import annotations

import threading

import pytest
import yaml

from clickstream_console.project_source import ProjectSource
from clickstream_project.config import ConfigError
from tests.console.console_helpers import write_project


def _with_description(app_id: str, text: str):
    def change(config):
        return config.model_copy(
            update={"apps": [app.model_copy(update={"description": text}) if app.app_id == app_id else app for app in config.apps]}
        )

    return change


def test_an_edit_from_elsewhere_shows_on_the_next_read(tmp_path):
    path = write_project(tmp_path)
    source = ProjectSource(path)
    assert source.current().app("shop_web").name == "Shop Web"
    data = yaml.safe_load(path.read_text())
    data["apps"][0]["name"] = "Renamed"
    path.write_text(yaml.safe_dump(data))
    assert source.current().app("shop_web").name == "Renamed"


def test_concurrent_changes_are_all_kept(tmp_path):
    path = write_project(tmp_path)
    source = ProjectSource(path)
    apps = ["shop_web", "shop_android"]
    threads = [
        threading.Thread(target=source.update, args=(_with_description(app_id, f"{app_id} {n}"),)) for n in range(10) for app_id in apps
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = ProjectSource(path).current()
    # Each app's last writer won, and neither app lost the other's change.
    assert all(final.app(app_id).description.startswith(app_id) for app_id in apps)


def test_a_refused_change_leaves_the_file_as_it_was(tmp_path):
    path = write_project(tmp_path)
    before = path.read_bytes()

    def refuse(_config):
        raise ConfigError("no")

    with pytest.raises(ConfigError):
        ProjectSource(path).update(refuse)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_broken_file_is_reported_with_the_field(tmp_path):
    path = write_project(tmp_path)
    source = ProjectSource(path)
    source.current()
    path.write_text("project_id: Not Valid\n")
    with pytest.raises(ConfigError, match="project_id"):
        source.current()
