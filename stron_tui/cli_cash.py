"""`stron-tui settlement --account A --date D`: a partner's daily settlement file (CSV and Excel)."""

from __future__ import annotations

import argparse


def cmd_settlement(args: argparse.Namespace) -> int:
    from stron_tui.services import settlement
    from stron_tui.services.context import open_context
    from stron_tui.services.permissions import SYSTEM_ACTOR

    ctx = open_context()
    try:
        files = settlement.write_settlement(ctx, SYSTEM_ACTOR, args.account, args.date)
    finally:
        ctx.close()
    result = files.settlement
    print(f"Settlement of {result.account} for {result.day.isoformat()}: {len(result.lines)} lines")
    for total in result.totals:
        print(f"  {total.currency}: {total.sales} sales {total.sales_amount}, {total.reversals} reversals "
              f"{total.reversals_amount}, net {total.net}")
    print(f"  checksum sha256:{result.checksum}")
    print(f"Written: {files.csv_path}")
    print(f"         {files.xlsx_path}")
    return 0


def register(commands) -> None:
    parser = commands.add_parser(
        "settlement", help="write an API account's daily settlement file (CSV and Excel)",
        description="Write the settlement of API account ACCOUNT for business day DATE: every sale and "
                    "reversal with the partner's reference, totals per currency and a SHA-256 checksum of "
                    "the data lines (the CSV's last line). Files go to the export directory.")
    parser.add_argument("--account", required=True, metavar="ACCOUNT", help="the API account's name")
    parser.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the business day")
    parser.set_defaults(handler=cmd_settlement)
