"""The ``clickstream`` command line: serve ingestion, register apps, generate sample traffic,
run the end-to-end demo. Heavy modules are imported inside the handlers so ``--help`` is fast."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clickstream_project.config import CONFIG_ENV_VAR, ConfigError, load_config, new_app

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "-c",
        type=Path,
        help=f"project configuration file (default: ${CONFIG_ENV_VAR}, else ./clickstream.yaml)",
    )


def _load(args: argparse.Namespace):
    from clickstream_project.config import default_config_path

    return load_config(args.config or default_config_path())


def _serve(args: argparse.Namespace) -> int:
    from ingestion import server

    return server.main(args, _load(args))


def _generate(args: argparse.Namespace) -> int:
    from clickstream_tools.generator import cli as generator_cli

    return generator_cli.main(args, _load(args))


def _register_app(args: argparse.Namespace) -> int:
    from clickstream_project.apps import register_app, web_sdk_snippet
    from clickstream_project.config import default_config_path

    path = args.config or default_config_path()
    config = load_config(path)
    app = new_app(
        app_id=args.app_id, name=args.name or args.app_id, platforms=args.platform, package_name=args.package_name, time_zone=args.time_zone
    )
    updated, output = register_app(config, app, path, args.output)
    print(f"registered app {app.app_id!r} in {path}")
    print(f"SDK configuration for Android/iOS: {output}")
    if "Web" in app.platforms:
        print("Web SDK initialisation:\n" + web_sdk_snippet(updated, app))
    return EXIT_OK


def _list_apps(args: argparse.Namespace) -> int:
    config = _load(args)
    for app in config.apps:
        print(f"{app.app_id}\t{','.join(app.platforms)}\t{app.package_name or '-'}\t{app.name}")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    config = _load(args)
    print(f"{args.config or 'configuration'} is valid: project {config.project_id!r}, {len(config.apps)} app(s)")
    return EXIT_OK


def _console(args: argparse.Namespace) -> int:
    from clickstream_console.server import run_console
    from clickstream_project.config import default_config_path

    path = args.config or default_config_path()
    load_config(path)  # a bad file fails here, with the field named, before the server starts
    run_console(path, bind=args.bind)
    return EXIT_OK


def _console_admin(args: argparse.Namespace) -> int:
    import getpass
    import os

    from clickstream_console.identity.accounts import AccountError
    from clickstream_console.setup import add_first_administrator, generated_password

    config = _load(args)
    generated = False
    if args.password_env:
        password = os.environ.get(args.password_env)
        if password is None:
            print(f"error: --password-env: the environment variable {args.password_env} is not set", file=sys.stderr)
            return EXIT_USAGE
    elif sys.stdin.isatty():
        password = getpass.getpass("Password (12 characters or more): ")
        if getpass.getpass("Again: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return EXIT_USAGE
    else:
        password, generated = generated_password(), True
    try:
        email = add_first_administrator(config, args.email, password)
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"administrator {email} created in {config.console_database_url}")
    if generated:
        print(f"password (shown once): {password}")
    return EXIT_OK


def _cognito_source(args: argparse.Namespace) -> int:
    import json
    import time

    from ingestion.sources.cognito_kinesis import SourceBusy, run_source

    config = _load(args)
    names = args.source or [source.name for source in config.pipeline.sources]
    if not names:
        print("error: no pipeline.sources in the configuration (clickstream.example.yaml shows one)", file=sys.stderr)
        return EXIT_USAGE
    try:
        sources = [config.source(name) for name in names]
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    while True:
        for source in sources:
            try:
                report = run_source(config, source, args.max_seconds)
            except SourceBusy as busy:
                print(f"error: {busy}", file=sys.stderr)
                return EXIT_FAILURE
            # One JSON line per run of a source: what it read, for logs and scripts.
            print(json.dumps(report.as_dict()), flush=True)
        if args.once:
            return EXIT_OK
        time.sleep(min(source.poll_interval_seconds for source in sources))


def _demo(args: argparse.Namespace) -> int:
    from clickstream_tools import demo

    return demo.main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clickstream",
        description="Self-hosted clickstream analytics: ingest SDK events, process them with Spark, "
        "model them with dbt, orchestrate with Dagster.",
        epilog="Start with `clickstream demo`; open the result with the `dagster dev` command it prints.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the ingestion HTTP service (gunicorn)", description="Run the ingestion service that the SDKs post events to."
    )
    _config_argument(serve)
    from ingestion import server

    server.add_arguments(serve)
    serve.set_defaults(handler=_serve)

    generate = commands.add_parser(
        "generate",
        help="simulate users and send their events to the endpoint",
        description="Simulate realistic users of every configured app and send their events in SDK format.",
    )
    _config_argument(generate)
    from clickstream_tools.generator import cli as generator_cli

    generator_cli.add_arguments(generate)
    generate.set_defaults(handler=_generate)

    app = commands.add_parser("app", help="register and list apps", description="Manage the apps of a project.")
    app_commands = app.add_subparsers(dest="app_command", required=True, metavar="APP_COMMAND")
    register = app_commands.add_parser(
        "register",
        help="add an app and write its amplifyconfiguration.json",
        description="Add an app to the project file (comments in the file are not kept) and write the "
        "amplifyconfiguration.json the official Android and Swift SDKs read.",
    )
    _config_argument(register)
    register.add_argument("--app-id", required=True, help="app id: a letter, then letters, digits or _ (becomes a warehouse schema)")
    register.add_argument("--name", help="display name (default: the app id)")
    register.add_argument(
        "--platform", action="append", required=True, choices=["Android", "iOS", "Web"], help="platform of the app (repeat for several)"
    )
    register.add_argument("--package-name", help="Android application id or iOS bundle id")
    register.add_argument(
        "--time-zone", default="UTC", help="IANA zone of the app's report days and ranges, e.g. Europe/Paris (default: UTC)"
    )
    register.add_argument("--output", type=Path, help="where to write amplifyconfiguration.json (default: <data_dir>/apps/<app_id>/)")
    register.set_defaults(handler=_register_app)
    list_apps = app_commands.add_parser("list", help="list the registered apps")
    _config_argument(list_apps)
    list_apps.set_defaults(handler=_list_apps)

    validate = commands.add_parser("validate", help="check a project configuration file")
    _config_argument(validate)
    validate.set_defaults(handler=_validate)

    cognito = commands.add_parser(
        "cognito-source",
        help="read the configured Cognito Streams sources into the raw lake",
        description="Read each pipeline.sources stream (Kinesis records of Amazon Cognito Streams) into the raw "
        "lake below <prefix>sources/<name>/, checkpointing per shard after each durable file. Runs until "
        "interrupted, or once with --once (until caught up, or max_seconds_per_run).",
    )
    _config_argument(cognito)
    cognito.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable; default: all)")
    cognito.add_argument("--once", action="store_true", help="one bounded run of each source, then exit")
    cognito.add_argument("--max-seconds", type=float, help="bound of one run (default: the source's max_seconds_per_run)")
    cognito.set_defaults(handler=_cognito_source)

    console = commands.add_parser(
        "console",
        help="run the web console (projects, pipeline, alarms, users)",
        description="Serve the web console of a project (default http://127.0.0.1:8090, setting console.bind). "
        "Without an identity provider, create its first administrator with `clickstream console create-admin` first.",
    )
    _config_argument(console)
    console.add_argument("--bind", help="HOST:PORT to listen on (default: console.bind in the project file)")
    console.set_defaults(handler=_console)
    console_commands = console.add_subparsers(dest="console_command", metavar="CONSOLE_COMMAND")
    create_admin = console_commands.add_parser(
        "create-admin",
        help="create the console's first user, an Administrator with a local password",
        description="Create the first console user (Administrator, local password). Refused once the console has users; "
        "add more in System → Users. The password is read from --password-env, else asked for on a terminal, "
        "else generated and printed once.",
    )
    _config_argument(create_admin)
    create_admin.add_argument("--email", required=True, help="the administrator's email (their sign-in name)")
    create_admin.add_argument("--password-env", metavar="VAR", help="environment variable holding the password")
    create_admin.set_defaults(handler=_console_admin)

    demo_parser = commands.add_parser(
        "demo",
        help="run the whole pipeline end to end on sample data",
        description="Start ingestion, send a few days of generated events, process and model them through "
        "Dagster, and print a summary read back from the warehouse.",
    )
    from clickstream_tools import demo

    demo.add_arguments(demo_parser)
    demo_parser.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    from clickstream_project.apps import RegistrationError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except RegistrationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
