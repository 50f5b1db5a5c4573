"""The `stron-tui` command: the app, and the subcommands that set it up.

Imports stay inside the commands: the bare command must reach the login
screen fast, and `--help` must not need a database.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from stron_tui.errors import StronError

# Subcommands contributed by the feature packages: name -> "module:function".
# Each function takes the argparse subparsers object and registers itself.
# A missing module is skipped, so a feature can be added without touching this list.
EXTENSIONS: list[str] = [
    "stron_tui.cli_library:register",
    "stron_tui.cli_serve:register",
    "stron_tui.cli_cash:register",
    "stron_tui.cli_ops:register",
]


def _fail(message: str, code: int = 1) -> int:
    print(f"stron-tui: {message}", file=sys.stderr)
    return code


def cmd_run(args: argparse.Namespace) -> int:
    from stron_tui.settings import load_settings
    from stron_tui.ssh.session import held_app_preparation

    prepare = held_app_preparation()  # None unless a station holder started this app
    settings = load_settings()
    if args.low_bandwidth is not None:
        settings = settings.with_overrides(low_bandwidth=args.low_bandwidth)
    from stron_tui.services.context import open_context

    # A station's app (held for it by station-attach) connects to a server database only while a unit of
    # work runs, as an embedded server's session does: idle and suspended stations hold no connection.
    ctx = open_context(settings, idle_connections=prepare is None)
    if settings.low_bandwidth:
        # Read by Textual at import: no animations or smooth scrolling on slow links.
        os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
        os.environ.setdefault("TEXTUAL_SMOOTH_SCROLL", "0")
    from stron_tui.app import run_app

    if prepare is not None:
        # Kept for a station while nobody types: the driver whose input thread sleeps until a key comes.
        from stron_tui.ssh.driver import StationDriver

        return run_app(ctx, source=settings.source, prepare=prepare, driver_class=StationDriver)
    return run_app(ctx, source=settings.source)


def cmd_db(args: argparse.Namespace) -> int:
    from stron_tui.db import migrate
    from stron_tui.db.engine import Database
    from stron_tui.settings import ensure_directory, load_settings

    settings = load_settings()
    if args.db_command == "upgrade" and args.sql:
        print(migrate.render_sql(args.url or settings.database_url, args.revision))
        return 0
    ensure_directory(settings.data_dir, "data directory")
    db = Database(settings.database_url)
    try:
        db.check_connection()
        if args.db_command == "upgrade":
            migrate.upgrade(db, args.revision)
            from stron_tui.services.bootstrap import ensure_reference_data

            ensure_reference_data(db, settings)
            print(f"Database {db.display_url} is at schema {migrate.current_revision(db)}.")
        elif args.db_command == "downgrade":
            migrate.downgrade(db, args.revision)
            print(f"Database {db.display_url} is at schema {migrate.current_revision(db) or 'base (empty)'}.")
        else:
            current = migrate.current_revision(db)
            head = migrate.head_revision()
            state = "up to date" if current == head else f"behind; run: stron-tui db upgrade (head is {head})"
            print(f"Database {db.display_url} is at schema {current or 'none'}: {state}.")
    finally:
        db.dispose()
    return 0


def _read_admin_password(args: argparse.Namespace) -> str:
    if args.admin_password_file:
        path = Path(args.admin_password_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise StronError(f"Cannot read the password file {path}: {error.strerror}.") from None
        password = text.rstrip("\r\n")
    else:
        from stron_tui.settings import load_settings

        password = load_settings().admin_password.get_secret_value()
    if not password:
        raise StronError("Give the Admin password with --admin-password-file FILE or STRON_ADMIN_PASSWORD.")
    return password


def cmd_init(args: argparse.Namespace) -> int:
    from stron_tui.services import auth
    from stron_tui.services.context import open_context

    password = _read_admin_password(args)
    ctx = open_context(migrate=True)
    try:
        if not auth.admin_needs_password(ctx):
            print("The Admin password is already set; nothing changed.")
            return 0
        auth.set_first_admin_password(ctx, password, source="cli")
        print(f"Admin is ready on {ctx.db.display_url}; log in as Admin with the password you gave.")
    finally:
        ctx.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from stron_tui.services.context import open_context
    from stron_tui.services.demo import load_demo_data

    ctx = open_context(migrate=True)
    try:
        summary = load_demo_data(ctx, customers=args.customers, months=args.months)
        print(summary)
    finally:
        ctx.close()
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    from stron_tui.services import users
    from stron_tui.services.context import open_context
    from stron_tui.services.permissions import SYSTEM_ACTOR

    ctx = open_context()
    try:
        if args.user_command == "unlock":
            info = users.unlock_user_named(ctx, SYSTEM_ACTOR, args.name)
            print(f"User {info.user_code} is unlocked: logins from every address are allowed again.")
    finally:
        ctx.close()
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from stron_tui.settings import load_settings

    settings = load_settings()
    rows = settings.effective()
    if args.json:
        import json

        print(json.dumps({"config_file": str(settings.config_file) if settings.config_file else None,
                          "settings": rows}, indent=2))
        return 0
    absent = f"none ({settings.data_dir / 'stron.toml'} does not exist)"
    print(f"Config file: {settings.config_file or absent}")
    name_width = max(len(row["name"]) for row in rows)
    value_width = min(40, max(len(row["value"]) for row in rows))
    for row in rows:
        # A long value (a message template) is shown whole and pushes its source to the right.
        print(f"{row['name']:<{name_width}}  {row['value']:<{value_width}}  {row['source']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stron-tui",
        description="Prepaid-meter vending back office. With no subcommand, opens the app.",
        epilog="Settings come from STRON_* environment variables and an optional stron.toml; "
               "`stron-tui config` shows them and their sources.",
    )
    bandwidth = parser.add_mutually_exclusive_group()
    bandwidth.add_argument("--low-bandwidth", dest="low_bandwidth", action="store_true", default=None,
                           help="no mouse, animations or colour-only cues: for slow links")
    bandwidth.add_argument("--full", dest="low_bandwidth", action="store_false",
                           help="turn low-bandwidth mode off")
    parser.set_defaults(handler=cmd_run)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    db = commands.add_parser("db", help="migrate or inspect the database schema",
                             description="Migrate or inspect the database schema.")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate to the newest schema",
                                     description="Migrate the configured database to the newest schema.")
    upgrade.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    upgrade.add_argument("--sql", action="store_true", help="print the SQL instead of running it (for a DBA)")
    upgrade.add_argument("--url", help="with --sql: the database URL whose dialect to render (e.g. mssql+pyodbc://)")
    downgrade = db_commands.add_parser("downgrade", help="migrate back to an older schema",
                                       description="Migrate back to an older schema (base removes every table).")
    downgrade.add_argument("revision", help="target revision, e.g. -1 or base")
    db_commands.add_parser("current", help="show the schema revision", description="Show the schema revision.")
    db.set_defaults(handler=cmd_db)

    init = commands.add_parser("init", help="create the database and set the Admin password (scripted installs)",
                               description="Create and migrate the database and set the built-in Admin's "
                                           "password without prompting. The password comes from a file or "
                                           "from STRON_ADMIN_PASSWORD.")
    init.add_argument("--admin-password-file", metavar="FILE", help="file whose first line is the password")
    init.set_defaults(handler=cmd_init)

    demo = commands.add_parser("demo", help="load demo data to try the app",
                               description="Load demo districts, stations, tariffs, customers, meters, "
                                           "accounts and past sales. Does nothing if demo data is loaded.")
    demo.add_argument("--customers", type=int, default=300, help="how many customers and meters (default 300)")
    demo.add_argument("--months", type=int, default=4, help="months of past sales (default 4)")
    demo.set_defaults(handler=cmd_demo)

    user = commands.add_parser("user", help="unlock a user locked out by wrong passwords",
                               description="Operator accounts from the host's command line (audited).")
    user_commands = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    unlock = user_commands.add_parser("unlock", help="lift a user's lockout and every address's login block",
                                      description="Lift the lockout of user NAME (after wrong passwords in a "
                                                  "session) and the login blocks of that user ID from every "
                                                  "address. The password stays as it is.")
    unlock.add_argument("name", metavar="NAME", help="the user ID")
    user.set_defaults(handler=cmd_user)

    config = commands.add_parser("config", help="show the effective settings and where each comes from",
                                 description="Print every setting's effective value (secrets masked as ***) "
                                             "and its source: default, file PATH or env STRON_NAME.")
    config.add_argument("--json", action="store_true", help="print JSON instead of a table")
    config.set_defaults(handler=cmd_config)

    for extension in EXTENSIONS:
        module_name, function_name = extension.split(":")
        try:
            module = __import__(module_name, fromlist=[function_name])
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        getattr(module, function_name)(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    from stron_tui.private_files import restrict_new_files

    # Before anything is created: the database, exports, keys and logs we write are ours alone.
    restrict_new_files()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except StronError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return _fail("interrupted.", 130)


if __name__ == "__main__":
    sys.exit(main())
