"""Server commands: `stron-tui serve-ssh` (remote stations), `serve-api` and `api-account` (integration API)."""

from __future__ import annotations

import argparse


def cmd_serve_ssh(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from stron_tui.services.context import open_context
    from stron_tui.ssh.server import ServerOptions, parse_listen, serve_forever

    host, port = parse_listen(args.listen)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ctx = open_context()
    try:
        overrides = {"idle_timeout": args.idle_minutes * 60, "low_bandwidth": args.low_bandwidth}
        if args.max_sessions is not None:
            overrides["max_sessions"] = args.max_sessions
        if args.resume_minutes is not None:
            overrides["resume_grace"] = args.resume_minutes * 60
        options = ServerOptions.from_settings(ctx.settings, **overrides)
        asyncio.run(serve_forever(ctx, host, port, options))
    finally:
        ctx.close()
    return 0


def register_ssh(commands) -> None:
    serve = commands.add_parser(
        "serve-ssh", help="serve remote stations over SSH (embedded server)",
        description="Run the embedded SSH server: each station logs in with its stron-tui password or a "
                    "registered public key and gets the app in low-bandwidth mode; SFTP shows the user's "
                    "exports. Host keys are made on first start in <data dir>/ssh.")
    serve.add_argument("--listen", default="0.0.0.0:2222", metavar="HOST:PORT",
                       help="address and port to listen on (default 0.0.0.0:2222)")
    serve.add_argument("--max-sessions", type=int, default=None,
                       help="most sessions at once (default: the ssh_max_sessions setting, 50); the other "
                            "limits are settings too, see docs/security.md")
    serve.add_argument("--idle-minutes", type=float, default=30,
                       help="end a session after this many minutes without a key (default 30)")
    serve.add_argument("--resume-minutes", type=float, default=None,
                       help="keep a session whose link dropped this long for its user to resume (default: the "
                            "ssh_resume_minutes setting, 10; 0 ends it at once)")
    bandwidth = serve.add_mutually_exclusive_group()
    bandwidth.add_argument("--full", dest="low_bandwidth", action="store_false",
                           help="sessions start in full mode (a client may still send STRON_LOW_BANDWIDTH=1)")
    bandwidth.add_argument("--low-bandwidth", dest="low_bandwidth", action="store_true",
                           help="sessions start in low-bandwidth mode (the default)")
    serve.set_defaults(handler=cmd_serve_ssh, low_bandwidth=True)


def cmd_station_attach(args: argparse.Namespace) -> int:
    from stron_tui.settings import load_settings
    from stron_tui.ssh.attach import attach

    return attach(args.account, load_settings())


def register_station_attach(commands) -> None:
    attach = commands.add_parser(
        "station-attach", help="a station's terminal through your own OpenSSH (run by the ForceCommand)",
        description="Connect this terminal to the app kept for station account ACCOUNT, starting it if it is "
                    "not running; a dropped link keeps a logged-in app for ssh_resume_minutes, and the "
                    "account's next connection is offered it. Run by scripts/stron-tui-forcecommand as the "
                    "service account; see docs/ssh.md.")
    attach.add_argument("account", metavar="ACCOUNT", help="the station's Unix account (letters, digits, ._-)")
    attach.set_defaults(handler=cmd_station_attach)


def register(commands) -> None:
    register_ssh(commands)
    register_station_attach(commands)
    register_api(commands)
    register_messages(commands)


def cmd_send_messages(args: argparse.Namespace) -> int:
    import threading

    from stron_tui.services import messages
    from stron_tui.services.context import open_context

    ctx = open_context()
    try:
        if args.loop:
            stop = threading.Event()
            try:
                messages.run_sender(ctx, stop, interval=args.loop)
            except KeyboardInterrupt:
                stop.set()
            return 0
        run = messages.deliver_due(ctx)
        print(f"Messages: {run.sent} sent, {run.retrying} to retry later, {run.failed} failed.")
    finally:
        ctx.close()
    return 0


def register_messages(commands) -> None:
    send = commands.add_parser(
        "send-messages", help="send queued token SMS and e-mails to customers (serve-api also does)",
        description="Deliver the queued token messages that are due (retries with backoff); with --loop, "
                    "keep delivering every SECONDS until stopped.")
    send.add_argument("--loop", type=float, default=0, metavar="SECONDS",
                      help="keep running, delivering every SECONDS")
    send.set_defaults(handler=cmd_send_messages)


def cmd_serve_api(args: argparse.Namespace) -> int:
    from stron_tui.api.server import serve

    serve(args.listen, workers=args.workers, log_level=args.log_level)
    return 0


def cmd_api_account(args: argparse.Namespace) -> int:
    from stron_tui.services import api_accounts
    from stron_tui.services.context import open_context
    from stron_tui.services.permissions import SYSTEM_ACTOR

    ctx = open_context()
    try:
        if args.api_command == "create":
            issued = api_accounts.create_account(ctx, SYSTEM_ACTOR, name=args.name, role=args.role,
                                                 station_code=args.station, rate_limit_per_minute=args.rate_limit)
            print(f"API account {issued.account.name} created (role {issued.account.role}).")
            print("Its key is shown only now; store it safely:")
            print(issued.api_key)
        elif args.api_command == "rotate":
            account = api_accounts.find_account(ctx, SYSTEM_ACTOR, args.name)
            issued = api_accounts.rotate_key(ctx, SYSTEM_ACTOR, account.id)
            print(f"New key for {account.name} (the old one no longer works); shown only now:")
            print(issued.api_key)
        elif args.api_command in ("disable", "enable"):
            account = api_accounts.find_account(ctx, SYSTEM_ACTOR, args.name)
            api_accounts.set_enabled(ctx, SYSTEM_ACTOR, account.id, args.api_command == "enable")
            print(f"API account {account.name} {args.api_command}d.")
        else:
            rows = api_accounts.list_accounts(ctx, SYSTEM_ACTOR)
            print(f"{'Name':24} {'Role':16} {'Station':8} {'State':8} {'Per min':>7}  Key prefix")
            for row in rows:
                print(f"{row.name[:24]:24} {row.role[:16]:16} {row.station_code[:8]:8} "
                      f"{'enabled' if row.enabled else 'disabled':8} {row.rate_limit_per_minute:>7}  "
                      f"stron_{row.key_prefix}")
    finally:
        ctx.close()
    return 0


def register_api(commands) -> None:
    serve = commands.add_parser(
        "serve-api", help="serve the integration HTTP API (JSON, for partners with API accounts)",
        description="Run the integration API on uvicorn over the configured database. OpenAPI schema at "
                    "/openapi.json, docs at /docs, endpoints under /api/v1. Put TLS in front of it.")
    serve.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT",
                       help="address and port to listen on (default 127.0.0.1:8080)")
    serve.add_argument("--workers", type=int, default=1,
                       help="worker processes (default 1; rate limits are shared by all of them)")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    serve.set_defaults(handler=cmd_serve_api)

    account = commands.add_parser("api-account", help="create, rotate, list, enable or disable API accounts",
                                  description="Manage the integration API's accounts from scripts.")
    actions = account.add_subparsers(dest="api_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create an account and print its key once")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, help="a role name, e.g. OnlyVending")
    create.add_argument("--station", help="sales station ID its sales are booked to")
    create.add_argument("--rate-limit", type=int, default=600, help="requests per minute (default 600)")
    for name, text in (("rotate", "replace the key and print the new one once"),
                       ("disable", "refuse the account's key"), ("enable", "accept the account's key again")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--name", required=True)
    actions.add_parser("list", help="list the accounts (never their keys)")
    account.set_defaults(handler=cmd_api_account)
