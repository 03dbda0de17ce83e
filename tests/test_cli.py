import json
import subprocess
import sys
from pathlib import Path

import pytest

from clickstream_project.config import load_config, save_config
from clickstream_tools.cli import main
from tests.conftest import SDK_SAMPLES, make_config


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "clickstream.yaml"
    save_config(make_config(tmp_path), path)
    return path


def test_app_register_adds_the_app_and_writes_the_sdk_configuration(config_file: Path, tmp_path: Path, capsys):
    output = tmp_path / "out" / "amplifyconfiguration.json"
    code = main(
        [
            "app",
            "register",
            "-c",
            str(config_file),
            "--app-id",
            "notes_ios",
            "--name",
            "Notes",
            "--platform",
            "iOS",
            "--package-name",
            "com.example.notes",
            "--time-zone",
            "Europe/Paris",
            "--output",
            str(output),
        ]
    )
    assert code == 0
    config = load_config(config_file)
    assert config.app("notes_ios").package_name == "com.example.notes"
    assert config.app("notes_ios").time_zone == "Europe/Paris"
    written = json.loads(output.read_text())
    sample = json.loads((SDK_SAMPLES / "amplifyconfiguration.json").read_text())
    plugin = written["analytics"]["plugins"]["awsClickstreamPlugin"]
    assert plugin.keys() == sample["analytics"]["plugins"]["awsClickstreamPlugin"].keys()
    assert plugin["appId"] == "notes_ios"
    assert plugin["endpoint"] == "http://127.0.0.1:8088/collect"
    assert "registered app 'notes_ios'" in capsys.readouterr().out


def test_app_register_web_prints_the_web_sdk_snippet(config_file: Path, capsys):
    assert main(["app", "register", "-c", str(config_file), "--app-id", "blog", "--platform", "Web"]) == 0
    out = capsys.readouterr().out
    assert 'ClickstreamAnalytics.init({ appId: "blog", endpoint: "http://127.0.0.1:8088/collect" })' in out
    assert (config_file.parent / "var/apps/blog/amplifyconfiguration.json").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--app-id", "bad-id", "--platform", "Web"], "app_id: must match"),
        (["--app-id", "shop_web", "--platform", "Web"], "already registered"),
    ],
)
def test_app_register_rejects_bad_input_and_leaves_the_file_alone(config_file: Path, capsys, arguments, message):
    before = config_file.read_text()
    assert main(["app", "register", "-c", str(config_file), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert config_file.read_text() == before


def test_unknown_platform_is_a_usage_error(config_file: Path):
    with pytest.raises(SystemExit) as exit_info:
        main(["app", "register", "-c", str(config_file), "--app-id", "x", "--platform", "Symbian"])
    assert exit_info.value.code == 2


def test_validate_reports_field_errors(tmp_path: Path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("project_id: ok\npipeline:\n  sink:\n    buffer_size_mib: 0\n")
    assert main(["validate", "-c", str(bad)]) == 2
    assert "pipeline.sink.buffer_size_mib" in capsys.readouterr().err


def test_app_list(config_file: Path, capsys):
    assert main(["app", "list", "-c", str(config_file)]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("shop_android\tAndroid\tcom.example.shop")


@pytest.mark.parametrize("command", [[], ["serve"], ["generate"], ["app", "register"], ["demo"]])
def test_help_describes_every_command(command):
    result = subprocess.run([sys.executable, "-m", "clickstream_tools.cli", *command, "--help"], capture_output=True, text=True, check=True)
    assert "usage: clickstream" in result.stdout
    assert "--config" in result.stdout or not command or command == ["demo"]


def test_app_register_writes_both_files_or_neither(config_file: Path, tmp_path: Path, capsys):
    """The SDK configuration cannot be written (its path is a directory): the project file is
    unchanged byte for byte, no app is registered, and the error is one line."""
    output = tmp_path / "taken"
    output.mkdir()
    before = config_file.read_bytes()
    code = main(["app", "register", "-c", str(config_file), "--app-id", "notes", "--platform", "iOS", "--output", str(output)])
    err = capsys.readouterr().err
    assert code != 0
    assert config_file.read_bytes() == before
    assert "notes" not in load_config(config_file).app_ids
    assert err.count("\n") == 1 and err.startswith("error: cannot write the SDK configuration") and str(output) in err
    assert "Traceback" not in err
    assert sorted(p.name for p in config_file.parent.iterdir() if p.name.startswith(".")) == []


def test_app_register_fails_cleanly_when_the_sdk_directory_cannot_be_made(config_file: Path, tmp_path: Path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    output = blocker / "amplifyconfiguration.json"
    before = config_file.read_bytes()
    code = main(["app", "register", "-c", str(config_file), "--app-id", "notes", "--platform", "iOS", "--output", str(output)])
    err = capsys.readouterr().err
    assert code != 0
    assert config_file.read_bytes() == before
    assert err.count("\n") == 1 and str(output) in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: path.mkdir(), "is a directory, not a configuration file"),
        (lambda path: path.write_bytes(b"project_id: caf\xe9\n"), "is not UTF-8 text"),
    ],
    ids=["directory", "not-utf8"],
)
def test_an_unreadable_config_is_a_one_line_error(tmp_path: Path, capsys, make, message):
    path = tmp_path / "clickstream.yaml"
    make(path)
    assert main(["validate", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path} {message}") and err.count("\n") == 1, err


@pytest.mark.parametrize("app_id", ["information_schema", "temp", "main", "pg_catalog", "select"])
def test_app_register_refuses_warehouse_names(config_file: Path, capsys, app_id):
    before = config_file.read_bytes()
    assert main(["app", "register", "-c", str(config_file), "--app-id", app_id, "--platform", "Web"]) == 2
    assert f"app_id: Value error, '{app_id}' is reserved" in capsys.readouterr().err
    assert config_file.read_bytes() == before


@pytest.mark.parametrize("prefix", ["{0}/", "{project_id:.<2.0}/", "{project_id!r}/", "{other}/", "/abs/", "a/../b/"])
def test_serve_refuses_an_unsafe_sink_prefix_before_starting(tmp_path: Path, capsys, prefix):
    """The server never starts with a prefix it would crash on ({0}) or that leaves the lake."""
    path = tmp_path / "clickstream.yaml"
    path.write_text(f"project_id: p\npipeline:\n  sink:\n    prefix: '{prefix}'\n")
    assert main(["serve", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "pipeline.sink.prefix: Value error" in err and "Traceback" not in err


def test_the_demos_freshness_window_covers_its_simulated_days(tmp_path: Path):
    from clickstream_tools.demo import write_demo_config

    # Every simulated day arrives at once: an event older than the window would be quarantined as stale.
    for name in ("short", "long"):
        (tmp_path / name).mkdir()
    assert write_demo_config(tmp_path / "short", 8088, days=2)[0].pipeline.processing.event_freshness_hours == 72
    assert write_demo_config(tmp_path / "long", 8088, days=14)[0].pipeline.processing.event_freshness_hours == 15 * 24


def test_the_demo_seals_and_looks_for_new_files_every_few_seconds(tmp_path: Path):
    from clickstream_tools.demo import write_demo_config

    # Fresh within a minute: the local sink seals every 10 s, the raw-hours sensor ticks every 5 s.
    pipeline = write_demo_config(tmp_path, 8088, days=2)[0].pipeline
    assert (pipeline.sink.buffer_interval_seconds, pipeline.automation.micro_batch.minimum_interval_seconds) == (10, 5)


@pytest.mark.parametrize("days", ["0", "365", "two", "-3"])
def test_demo_days_out_of_range_is_a_usage_error_naming_the_option(days, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--days", days, "--dir", "/nonexistent/never-used"])
    assert exit_info.value.code == 2 and "--days" in capsys.readouterr().err
