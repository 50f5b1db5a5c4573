"""One SSH session's app process: `python -m stron_tui.ssh.session`, started by the SSH server on a pty.

It is already logged in: the server hands over who authenticated (user id
and address, never a password), the database URL and the master key it
holds through an inherited pipe whose number is in STRON_SSH_HANDOFF_FD,
never the environment (which stays readable in /proc for the process's
whole life). The Actor is built fresh from the database, so a user
disabled or locked meanwhile does not get in, and a forced password change
still comes first (the app shell handles must_change_password).
"""

from __future__ import annotations

import json
import os
import signal
import sys

from stron_tui.ssh import HANDOFF_FD_VARIABLE, REPORT_FD_VARIABLE


def _read_handoff():
    """The server's message, and the socket it came on (kept: the app tells the server through it whether
    someone is logged in, which decides whether a dropped link keeps the session)."""
    import socket

    descriptor = os.environ.pop(HANDOFF_FD_VARIABLE, "")
    if not descriptor.isdigit():
        raise SystemExit("stron-tui: this program is started by `stron-tui serve-ssh` only.")
    channel = socket.socket(fileno=int(descriptor))
    channel.set_inheritable(False)
    data = b""
    while len(data) < 4096:
        chunk = channel.recv(4096 - len(data))
        if not chunk:
            break
        data += chunk
    return json.loads(data or b"{}"), channel


def session_reporter(channel):
    """Tells whoever holds the other end of `channel` of each log-in ("in") and log-out ("out")."""

    def report(actor) -> None:
        try:
            channel.send(b"in\n" if actor is not None else b"out\n")
        except OSError:
            pass  # the server is gone; the app goes on until its terminal closes

    return report


def take_terminal() -> None:
    """Make the pty our controlling terminal: the kernel then delivers SIGWINCH and SIGHUP to us."""
    import fcntl
    import termios

    try:
        fcntl.ioctl(sys.stdin.fileno(), termios.TIOCSCTTY, 0)
    except OSError:
        pass
    try:  # bytes go out as written: a receipt's CR LF must not become CR CR LF on its way to the printer
        attributes = termios.tcgetattr(sys.stdout.fileno())
        attributes[1] &= ~termios.OPOST
        termios.tcsetattr(sys.stdout.fileno(), termios.TCSANOW, attributes)
    except termios.error:
        pass


def end_on_hangup(app) -> None:
    """SIGHUP (the link dropped, or the resume grace ran out) ends the app the way its own exit does, so the
    log-out is recorded; a sale in flight has either committed or rolled back."""

    def hang_up(signum, frame) -> None:
        import asyncio

        loop = asyncio._get_running_loop()
        if loop is not None:
            loop.call_soon_threadsafe(app.exit)
        else:
            raise SystemExit(129)

    signal.signal(signal.SIGHUP, hang_up)


def held_app_preparation():
    """For the app a station holder runs (`stron-tui station-attach`, ssh/holder.py): None when this app
    was not started by one; else what to do to the app before it runs: report log-ins and log-outs on the
    holder's socket (a dropped link keeps only a logged-in app) and end cleanly on the holder's SIGHUP.
    The pty becomes this process's controlling terminal first (resizes and hang-ups reach it)."""
    import socket
    import stat

    descriptor = os.environ.pop(REPORT_FD_VARIABLE, "")
    if not descriptor:
        return None
    if not descriptor.isdigit() or not stat.S_ISSOCK(_mode(int(descriptor))):
        raise SystemExit(f"stron-tui: {REPORT_FD_VARIABLE} names no socket; it is set by station-attach only.")
    channel = socket.socket(fileno=int(descriptor))
    channel.set_inheritable(False)
    take_terminal()

    def prepare(app) -> None:
        app.on_session_change = session_reporter(channel)
        end_on_hangup(app)

    return prepare


def _mode(descriptor: int) -> int:
    try:
        return os.fstat(descriptor).st_mode
    except OSError:
        return 0


def main() -> int:
    handoff, channel = _read_handoff()
    take_terminal()
    from stron_tui.settings import load_settings

    settings = load_settings()
    if handoff.get("database_url"):
        settings = settings.with_overrides(database_url=str(handoff["database_url"]))
    if settings.low_bandwidth:
        # Read by Textual when it is imported: set them first.
        os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
        os.environ.setdefault("TEXTUAL_SMOOTH_SCROLL", "0")
        os.environ.setdefault("TEXTUAL_COLOR_SYSTEM", "256")
    if "textual.constants" in sys.modules:
        # Forked from the session template (ssh/prefork.py), Textual is imported already: its settings
        # are read again from this session's environment.
        import importlib

        importlib.reload(sys.modules["textual.constants"])
    from stron_tui.errors import StronError
    from stron_tui.services import auth
    from stron_tui.services.context import open_context

    try:
        # The server's master key, whether it came from STRON_MASTER_KEY or the key file.
        master_key = bytes.fromhex(handoff["master_key"]) if handoff.get("master_key") else None
        # Connected to a server database only while a unit of work runs: an idle station holds none. The
        # reference data (currencies, payment types, roles) was made sure of by the server when it started:
        # checked again here, it cost every station 3 MB of memory of its own and a few queries.
        ctx = open_context(settings, master_key=master_key, idle_connections=False, seed=False)
        actor = auth.actor_of_user(ctx, int(handoff["user_id"]), source="ssh", remote=str(handoff.get("remote", "")))
    except (StronError, KeyError, ValueError) as error:
        print(f"stron-tui: {error}", end="\r\n", flush=True)
        return 1

    from stron_tui.app import StronApp
    from stron_tui.ssh.driver import StationDriver

    app = StronApp(ctx, source="ssh", actor=actor, low_bandwidth=settings.low_bandwidth, driver_class=StationDriver)
    # The key the station logged in with may say how this terminal prints (System > SSH keys).
    app.key_fingerprint = str(handoff.get("key_fingerprint") or "")
    app.on_session_change = session_reporter(channel)
    end_on_hangup(app)
    try:
        app.run(mouse=not settings.low_bandwidth)
    finally:
        if app.actor is not None:
            try:
                auth.logout(ctx, app.actor)
            except Exception:
                pass
        ctx.close()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
