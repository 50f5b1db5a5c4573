"""`stron-tui template LIBRARY`: write a library's documented Excel import template."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

LIBRARIES = ("meters", "tariffs", "customers", "districts", "stations", "accounts")


def cmd_template(args: argparse.Namespace) -> int:
    from stron_tui.services.excel_io import write_template

    if args.output:
        path = Path(args.output)
        if path.suffix.lower() != ".xlsx":
            print("stron-tui: the template file name must end in .xlsx.", file=sys.stderr)
            return 2
        write_template(args.library, path)
        print(f"Template for the {args.library} library written to {path}.", file=sys.stderr)
        return 0
    if sys.stdout.isatty():
        print("stron-tui: redirect the template to a file (stron-tui template meters > meters.xlsx) "
              "or use --output FILE.", file=sys.stderr)
        return 2
    write_template(args.library, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    return 0


def register(commands) -> None:
    template = commands.add_parser(
        "template", help="write the Excel import template of a Base Data library",
        description="Write an .xlsx template for importing a Base Data library: the column titles, an example "
                    "row and a sheet that explains each column. Writes to standard output or --output FILE.")
    template.add_argument("library", choices=LIBRARIES, help="which library")
    template.add_argument("--output", "-o", metavar="FILE", help="write to FILE (.xlsx) instead of standard output")
    template.set_defaults(handler=cmd_template)
