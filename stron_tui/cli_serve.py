"""Server commands: `stron-tui serve-ssh` (remote stations) and the others that serve the app."""

from __future__ import annotations

import argparse


def cmd_serve_ssh(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from stron_tui.services.context import open_context
    from stron_tui.ssh.server import ServerOptions, parse_listen, serve_forever

    host, port = parse_listen(args.listen)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    options = ServerOptions(max_sessions=args.max_sessions, idle_timeout=args.idle_minutes * 60,
                            low_bandwidth=args.low_bandwidth)
    ctx = open_context()
    try:
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
    serve.add_argument("--max-sessions", type=int, default=50, help="most sessions at once (default 50)")
    serve.add_argument("--idle-minutes", type=float, default=30,
                       help="end a session after this many minutes without a key (default 30)")
    bandwidth = serve.add_mutually_exclusive_group()
    bandwidth.add_argument("--full", dest="low_bandwidth", action="store_false",
                           help="sessions start in full mode (a client may still send STRON_LOW_BANDWIDTH=1)")
    bandwidth.add_argument("--low-bandwidth", dest="low_bandwidth", action="store_true",
                           help="sessions start in low-bandwidth mode (the default)")
    serve.set_defaults(handler=cmd_serve_ssh, low_bandwidth=True)


def register(commands) -> None:
    register_ssh(commands)
