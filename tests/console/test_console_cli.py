"""`clickstream console create-admin`: the first administrator of the embedded default."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clickstream_console.db.migrate import console_engine
from clickstream_console.identity.accounts import find_user
from clickstream_console.identity.passwords import verify_password
from clickstream_console.identity.store import stored_roles
from clickstream_project.config import load_config
from clickstream_tools.cli import main
from tests.console.console_helpers import write_project


def _user(project_file, email):
    engine = console_engine(load_config(project_file).console_database_url)
    with Session(engine) as session:
        user = find_user(session, email)
        return (user.password_hash, stored_roles(user)) if user else None


def test_create_admin_from_an_environment_variable(tmp_path, monkeypatch, capsys):
    project_file = write_project(tmp_path)
    monkeypatch.setenv("ADMIN_PASSWORD", "a long enough password")
    assert (
        main(["console", "create-admin", "-c", str(project_file), "--email", " Admin@Example.COM ", "--password-env", "ADMIN_PASSWORD"])
        == 0
    )
    assert "administrator admin@example.com created" in capsys.readouterr().out
    password_hash, roles = _user(project_file, "admin@example.com")
    assert verify_password(password_hash, "a long enough password") and {str(role) for role in roles} == {"Administrator"}
    # The first administrator only: later users come from System → Users.
    assert main(["console", "create-admin", "-c", str(project_file), "--email", "b@example.com", "--password-env", "ADMIN_PASSWORD"]) == 2
    assert "already has users" in capsys.readouterr().err


def test_without_a_terminal_a_password_is_generated_and_shown_once(tmp_path, monkeypatch, capsys):
    project_file = write_project(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["console", "create-admin", "-c", str(project_file), "--email", "admin@example.com"]) == 0
    password = capsys.readouterr().out.split("password (shown once): ")[1].strip()
    assert verify_password(_user(project_file, "admin@example.com")[0], password)


def test_bad_input_names_the_field(tmp_path, monkeypatch, capsys):
    project_file = write_project(tmp_path)
    monkeypatch.setenv("SHORT", "short")
    assert main(["console", "create-admin", "-c", str(project_file), "--email", "not-an-email", "--password-env", "SHORT"]) == 2
    assert "email: 'not-an-email' is not an email address" in capsys.readouterr().err
    assert main(["console", "create-admin", "-c", str(project_file), "--email", "a@example.com", "--password-env", "SHORT"]) == 2
    assert "password: the password must have at least 12 characters" in capsys.readouterr().err
    assert main(["console", "create-admin", "-c", str(project_file), "--email", "a@example.com", "--password-env", "UNSET_VARIABLE"]) == 2
    assert "UNSET_VARIABLE is not set" in capsys.readouterr().err
    assert _user(project_file, "a@example.com") is None
