"""Base Data libraries on the command line: `template`, `import` and `export`.

`import` and `export` act as an operator: `--user` names them and their login
password comes from `--password-file` (its first line) or is asked for at the
terminal (never an argument: it would show in the process list). The same
services as the screens do the work, so the same permissions, validation,
all-or-nothing import and audit entries (source "cli") apply.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

LIBRARIES = ("meters", "tariffs", "customers", "districts", "stations", "accounts")
# Sheets that import like a library but are not one: accounts' debt balances (services/debt.py).
SHEETS = ("debt",)


def _template_writer(name: str):
    if name == "debt":
        from stron_tui.services.debt import write_debt_template

        return write_debt_template
    from stron_tui.services.excel_io import write_template

    return lambda target: write_template(name, target)


def cmd_template(args: argparse.Namespace) -> int:
    write_template = _template_writer(args.library)
    if args.output:
        path = Path(args.output)
        if path.suffix.lower() != ".xlsx":
            print("stron-tui: the template file name must end in .xlsx.", file=sys.stderr)
            return 2
        write_template(path)
        print(f"Template for the {args.library} library written to {path}.", file=sys.stderr)
        return 0
    if sys.stdout.isatty():
        print("stron-tui: redirect the template to a file (stron-tui template meters > meters.xlsx) "
              "or use --output FILE.", file=sys.stderr)
        return 2
    write_template(sys.stdout.buffer)
    sys.stdout.buffer.flush()
    return 0


def _password(args: argparse.Namespace) -> str:
    from stron_tui.errors import StronError

    if args.password_file:
        path = Path(args.password_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise StronError(f"Cannot read the password file {path}: {error.strerror}.") from None
        if not text.strip("\r\n"):
            raise StronError(f"The password file {path} is empty.")
        return text.splitlines()[0]
    if not sys.stdin.isatty():
        raise StronError("Give the password with --password-file FILE (first line), or run at a terminal to be asked.")
    return getpass.getpass(f"Password for {args.user}: ")


def _operator(ctx, args: argparse.Namespace):
    """Log the operator in as the login screen does (wrong passwords count towards the lock-out)."""
    from stron_tui.errors import StronError
    from stron_tui.services import auth

    actor = auth.authenticate(ctx, args.user, _password(args), source="cli", remote=f"cli pid {os.getpid()}")
    if actor.must_change_password:
        auth.logout(ctx, actor)
        raise StronError(f"{actor.user_code} must change their password first: log in to the app once.")
    return actor


def cmd_import(args: argparse.Namespace) -> int:
    from stron_tui.services import auth
    from stron_tui.services.context import open_context
    from stron_tui.services.debt import import_balances
    from stron_tui.services.excel_io import import_library

    ctx = open_context()
    try:
        actor = _operator(ctx, args)
        try:
            if args.library == "debt":
                report = import_balances(ctx, actor, Path(args.file))
            else:
                report = import_library(ctx, actor, args.library, Path(args.file))
        finally:
            auth.logout(ctx, actor)
    finally:
        ctx.close()
    for error in report.errors:
        print(f"row {error.row}, {error.column}: {error.reason}", file=sys.stderr)
    print(report.summary(), file=sys.stderr if report.errors else sys.stdout)
    return 0 if report.ok else 1


def cmd_export(args: argparse.Namespace) -> int:
    from stron_tui.errors import StronError
    from stron_tui.services import auth
    from stron_tui.services.context import open_context
    from stron_tui.services.excel_io import export_library

    target = Path(args.file).expanduser()
    if target.suffix.lower() != ".xlsx":
        raise StronError("The export file name must end in .xlsx.")
    if not target.parent.is_dir():
        raise StronError(f"There is no folder {target.parent} to write {target.name} in.")
    ctx = open_context()
    try:
        actor = _operator(ctx, args)
        try:
            result = export_library(ctx, actor, args.library, args.search, path=target.resolve())
        finally:
            auth.logout(ctx, actor)
    finally:
        ctx.close()
    print(f"Exported {result.rows:,} rows of the {args.library} library to {result.path}.")
    return 0


def _operator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", "-u", required=True, help="the operator who acts (their role must allow it)")
    parser.add_argument("--password-file", metavar="FILE",
                        help="file whose first line is the operator's login password (else it is asked for)")


def register(commands) -> None:
    template = commands.add_parser(
        "template", help="write the Excel import template of a Base Data library",
        description="Write an .xlsx template for importing a Base Data library: the column titles, an example "
                    "row and a sheet that explains each column. Writes to standard output or --output FILE.")
    template.add_argument("library", choices=LIBRARIES + SHEETS, help="which library (debt: accounts' debt balances)")
    template.add_argument("--output", "-o", metavar="FILE", help="write to FILE (.xlsx) instead of standard output")
    template.set_defaults(handler=cmd_template)

    importing = commands.add_parser(
        "import", help="import an Excel file into a Base Data library, as an operator",
        description="Import an .xlsx into a Base Data library with the same checks as the Import screen: every "
                    "row is checked, and if any is wrong nothing is imported and each problem is listed. Records "
                    "are matched by their code or number. A bare file name is looked for in the operator's upload "
                    "folder. Exit status 1 when the file was refused.")
    importing.add_argument("library", choices=LIBRARIES + SHEETS,
                           help="which library (debt: set accounts' debt balances, with a reason each)")
    importing.add_argument("file", help="the .xlsx file")
    _operator_arguments(importing)
    importing.set_defaults(handler=cmd_import)

    exporting = commands.add_parser(
        "export", help="export a Base Data library to an Excel file, as an operator",
        description="Write a Base Data library (or the records matching --search) to an .xlsx that imports "
                    "again unchanged.")
    exporting.add_argument("library", choices=LIBRARIES, help="which library")
    exporting.add_argument("file", help="the .xlsx file to write")
    exporting.add_argument("--search", default="", help="only the records this search finds (as on the screen)")
    _operator_arguments(exporting)
    exporting.set_defaults(handler=cmd_export)
