"""The embedded SSH server: remote stations log in and each session gets its own app process.

- Users log in with their stron-tui password (same lockout as the login
  screen) or with an SSH public key registered to them in System Management.
- Failed attempts are also limited per source address.
- A session with a terminal runs `python -m stron_tui.ssh.session` on a
  pseudo-terminal of its own, already logged in as the SSH user: one
  session's crash or slow query never touches another. The user id reaches
  the child through an inherited pipe, never a password.
- SFTP gives read-only access to the user's own export directory.
- No exec, no port forwarding, no agent or X11 forwarding; compression on.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import signal
import struct
import sys
import termios
import time
import zlib
from collections import defaultdict, deque
from dataclasses import dataclass, field

import asyncssh

from stron_tui.errors import ConfigurationError
from stron_tui.services.context import AppContext
from stron_tui.ssh import HANDOFF_FD_VARIABLE
from stron_tui.settings import ENVIRONMENT, Settings, parse_bool
from stron_tui.ssh.screen_diff import ScreenDiff

log = logging.getLogger("stron_tui.ssh")

# What the server offers in its key exchange: short lists, because every name is sent to every station
# on every connection (see docs/ssh.md). All of it is in OpenSSH >= 6.5 and PuTTY >= 0.68 (AES-GCM:
# PuTTY >= 0.76), including Windows' own ssh.
# Delayed zlib only (after login, as OpenSSH's sshd does since 7.4); every client that compresses offers
# it first. "none" last: clients that can't compress still get in.
COMPRESSION = ["zlib@openssh.com", "none"]
# AEAD ciphers only: no CBC, so the empty IGNORE packet asyncssh puts before every packet (a defence for
# CBC only) can be left out, which halves the bytes of a typed key's echo on the wire; and no MAC is used.
ENCRYPTION = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com"]
# The short and the pre-2017 name of the same exchange; asyncssh adds strict-kex (Terrapin) and ext-info.
KEX = ["curve25519-sha256", "curve25519-sha256@libssh.org"]
# Never used with the ciphers above, but a KEXINIT must name one: the shortest that every client has.
MACS = ["hmac-sha2-256"]
# The key types System Management registers for users, sent to clients as server-sig-algs (asyncssh's
# default is its whole list twice over, 700 bytes per connection).
SIGNATURE_ALGS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                  "rsa-sha2-512", "rsa-sha2-256"]


def without_padding_packets(conn) -> None:
    """Leave out the empty SSH_MSG_IGNORE asyncssh sends before each packet (36 bytes each on the wire).

    It protects CBC-mode ciphers only, which this server never negotiates (see ENCRYPTION).
    """
    from asyncssh.constants import MSG_IGNORE
    from asyncssh.packet import String

    empty = String(b"")
    send_packet = conn.send_packet

    def send(pkttype, *args, **kwargs):
        if pkttype == MSG_IGNORE and args == (empty,) and not kwargs:
            return
        send_packet(pkttype, *args, **kwargs)

    conn.send_packet = send
class _BestDeflate:
    """zlib as OpenSSH's own sshd sends it: a partial flush after each packet (an empty 10-bit block
    where asyncssh puts a 4-byte sync marker), at the best compression level (screens are small)."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(9)

    def compress(self, data: bytes) -> bytes | None:
        try:
            return self._deflate.compress(data) + self._deflate.flush(zlib.Z_PARTIAL_FLUSH)
        except zlib.error:
            return None


def with_best_compression(conn) -> None:
    """Compress what this side sends as _BestDeflate does; any inflater reads it.

    asyncssh makes a fresh compressor at each key exchange; it is swapped before its first packet.
    """
    from asyncssh.compression import _ZLibCompress

    send_packet = conn.send_packet

    def send(*args, **kwargs):
        if isinstance(conn._compressor, _ZLibCompress):
            conn._compressor = _BestDeflate()
        send_packet(*args, **kwargs)

    conn.send_packet = send


# Environment a client may send (ssh -o SetEnv=..., PuTTY's Environment panel) that the app honours.
CLIENT_ENV = ("STRON_LOW_BANDWIDTH", "STRON_ASCII", "LANG", "LC_ALL", "LC_CTYPE")
WRITE_BUFFER_HIGH = 64 * 1024  # stop reading the app's output while this much waits for a slow link
OUTPUT_QUIET = 0.010  # seconds of quiet from the app before its output is sent (see StationOutput)
OUTPUT_MAX_DELAY = 0.030  # ... but never held longer than this
OUTPUT_BATCH_LIMIT = 32 * 1024  # or this many bytes


@dataclass
class ServerOptions:
    max_sessions: int = 50
    idle_timeout: float = 30 * 60  # seconds without a key from the station before the session ends
    low_bandwidth: bool = True  # the default over SSH; the client can send STRON_LOW_BANDWIDTH=0
    failures_per_address: int = 10  # failed logins from one address ...
    failure_window: float = 10 * 60  # ... within this many seconds block that address for the window
    hangup_grace: float = 3.0  # seconds for an app to end after its link drops, then it is killed
    app_command: list[str] = field(default_factory=lambda: [sys.executable, "-m", "stron_tui.ssh.session"])
    keepalive_interval: float = 30.0


def settings_environment(settings: Settings) -> dict[str, str]:
    """The server's effective settings as STRON_* variables, so every session child uses the same ones."""
    values = {
        "data_dir": str(settings.data_dir),
        "database_url": settings.database_url,
        "export_dir": str(settings.export_dir),
        "master_key_file": str(settings.master_key_file),
        "timezone": settings.timezone,
        "currency": settings.currency,
        "lockout_attempts": str(settings.lockout_attempts),
        "lockout_minutes": str(settings.lockout_minutes),
        "idle_lock_minutes": str(settings.idle_lock_minutes),
        "utility_name": settings.utility_name,
    }
    return {variable: values[name] for variable, name in ENVIRONMENT.items() if name in values}


class FailureLimiter:
    """Counts failed logins per source address; too many within the window blocks the address."""

    def __init__(self, limit: int, window: float):
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, address: str) -> deque[float]:
        failures = self._failures[address]
        cutoff = time.monotonic() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        if not failures:
            self._failures.pop(address, None)
        return failures

    def blocked(self, address: str) -> bool:
        return len(self._recent(address)) >= self.limit

    def failed(self, address: str) -> None:
        self._recent(address)
        self._failures[address].append(time.monotonic())


class StationHub:
    """What all connections share: the context, the options, the session count and the limiter."""

    def __init__(self, ctx: AppContext, options: ServerOptions):
        self.ctx = ctx
        self.options = options
        self.limiter = FailureLimiter(options.failures_per_address, options.failure_window)
        self.sessions: set[StationSession] = set()
        self.children: set[int] = set()

    def child_environment(self) -> dict[str, str]:
        keep = ("PATH", "HOME", "PYTHONPATH", "VIRTUAL_ENV", "TZ", "TMPDIR", "STRON_CONFIG")
        env = {name: os.environ[name] for name in keep if name in os.environ}
        env.update(settings_environment(self.ctx.settings))
        env["STRON_SOURCE"] = "ssh"
        env["STRON_LOW_BANDWIDTH"] = "1" if self.options.low_bandwidth else "0"
        return env


class StationOutput:
    """The app's terminal output on its way to the station: gathered for a moment, then sent in one packet.

    Textual writes a screen change as several pieces a few milliseconds apart; each SSH packet costs
    about 36 bytes of framing, padding and MAC on the wire, so the pieces wait until the app has been
    quiet for OUTPUT_QUIET seconds (at most OUTPUT_MAX_DELAY after the first). In low-bandwidth mode a
    ScreenDiff then leaves out what the station's screen already shows.
    """

    def __init__(self, process, diff: ScreenDiff | None):
        self._process = process
        self._diff = diff
        self._pending = bytearray()
        self._first = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def add(self, data: bytes, now: float) -> bool:
        """Keep `data` for sending; True when enough is pending to send it now."""
        if not self._pending:
            self._first = now
        self._pending += data
        return len(self._pending) >= OUTPUT_BATCH_LIMIT

    def schedule(self, loop: asyncio.AbstractEventLoop, callback) -> None:
        """Call `callback` (which sends) once the app has been quiet for a moment."""
        self.cancel()
        self._timer = loop.call_at(min(loop.time() + OUTPUT_QUIET, self._first + OUTPUT_MAX_DELAY), callback)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def resize(self, width: int, height: int) -> None:
        self.send()  # what was drawn for the old size goes first
        if self._diff is not None:
            self._diff.resize(width, height)

    def send(self) -> bool:
        """Send what is pending; False once the link is gone."""
        self.cancel()
        data = bytes(self._pending)
        self._pending.clear()
        if self._diff is not None and data:
            data = self._diff.feed(data)
        if not data:
            return True
        try:
            self._process.stdout.write(data)
        except (BrokenPipeError, ConnectionError, OSError, asyncssh.Error):
            return False
        return True


class StationSession(asyncssh.SSHServerProcess):
    """A session channel: a terminal (the app) or the SFTP subsystem; no exec, no other subsystem."""

    def __init__(self, connection: "StationConnection"):
        super().__init__(connection.run_station, connection.sftp_server, 3, False)
        self._hub = connection.hub

    def connection_lost(self, exc: Exception | None) -> None:
        self._hub.sessions.discard(self)
        super().connection_lost(exc)

    def exec_requested(self, command: str) -> bool:
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        return subsystem == "sftp"


class StationConnection(asyncssh.SSHServer):
    """One SSH connection: its authentication and its sessions."""

    def __init__(self, hub: StationHub):
        self.hub = hub
        self.conn: asyncssh.SSHServerConnection | None = None
        self.remote = ""
        self.user_id: int | None = None
        self.user_code = ""
        self._key_fingerprint = ""
        self._login = asyncio.get_running_loop().create_future()

    # Connection and authentication --------------------------------------------------

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        without_padding_packets(conn)
        with_best_compression(conn)
        peer = conn.get_extra_info("peername") or ("",)
        self.remote = str(peer[0])

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._login.done():
            self._login.set_result(None)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def kbdint_auth_supported(self) -> bool:
        # Passwords are asked for by the "password" method only (OpenSSH, PuTTY and WinSCP all have it),
        # which keeps "keyboard-interactive" out of the method list sent to every station.
        return False

    async def validate_password(self, username: str, password: str) -> bool:
        from stron_tui.errors import StronError
        from stron_tui.services import auth

        if self.hub.limiter.blocked(self.remote):
            log.warning("refused a login from %s: too many failures from that address", self.remote)
            return False
        try:
            actor = await asyncio.to_thread(auth.authenticate, self.hub.ctx, username, password,
                                            source="ssh", remote=self.remote)
        except StronError:
            self.hub.limiter.failed(self.remote)
            return False
        self.user_id, self.user_code = actor.user_id, actor.user_code
        self._login.set_result(self.user_id)
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        from stron_tui.services.public_keys import key_fingerprint, key_may_log_in

        if self.hub.limiter.blocked(self.remote):
            return False
        fingerprint = key_fingerprint(key)
        if await asyncio.to_thread(key_may_log_in, self.hub.ctx, username, fingerprint):
            # The client signs with the last key accepted here; auth_completed records that login.
            self._key_fingerprint = fingerprint
            self.user_code = username
            return True
        return False

    async def auth_completed(self) -> None:
        from stron_tui.errors import StronError
        from stron_tui.services.public_keys import record_key_login

        if self._login.done():
            return
        try:
            user_id = await asyncio.to_thread(record_key_login, self.hub.ctx, self.user_code,
                                              self._key_fingerprint, remote=self.remote)
        except StronError as error:
            log.warning("key login of %s from %s refused: %s", self.user_code, self.remote, error)
            self._login.set_result(None)
            self.conn.close()
            return
        self.user_id = user_id
        self._login.set_result(user_id)

    # What the connection may ask for ------------------------------------------------

    def session_requested(self):
        if len(self.hub.sessions) >= self.hub.options.max_sessions:
            log.warning("refused a session from %s: %d sessions already", self.remote, len(self.hub.sessions))
            return False
        session = StationSession(self)
        self.hub.sessions.add(session)
        return session

    def connection_requested(self, dest_host, dest_port, orig_host, orig_port):
        return False

    def server_requested(self, listen_host, listen_port):
        return False

    def unix_connection_requested(self, dest_path):
        return False

    def unix_server_requested(self, listen_path):
        return False

    # SFTP ---------------------------------------------------------------------------

    def sftp_server(self, chan):
        # asyncssh awaits what this returns: the user's folder is known once the login is recorded.
        return self._user_sftp_server(chan)

    async def _user_sftp_server(self, chan):
        from stron_tui.ssh.sftp import ExportsSFTPServer, user_export_root

        # A key login is recorded (and its user id known) only after authentication completes.
        user_id = await self._login
        if user_id is None:
            chan.close()
            raise asyncssh.SFTPPermissionDenied("Not logged in.")
        root = await asyncio.to_thread(user_export_root, self.hub.ctx.settings, user_id)
        return ExportsSFTPServer(chan, root)

    # The app on a pseudo-terminal -----------------------------------------------------

    async def run_station(self, process: asyncssh.SSHServerProcess) -> None:
        try:
            await self._run_station(process)
        except Exception:  # a failure here ends this session only
            log.exception("SSH session from %s failed", self.remote)
            _exit(process, 1)
        finally:
            self.hub.sessions.discard(process)

    async def _run_station(self, process: asyncssh.SSHServerProcess) -> None:
        if process.term_type is None:
            process.stderr.write(b"stron-tui needs a terminal: connect with ssh -t (PuTTY asks for one itself).\r\n")
            process.exit(1)
            return
        user_id = await self._login
        if user_id is None:
            process.exit(1)
            return
        width, height, _, _ = process.term_size
        master, slave = os.openpty()
        _set_window(slave, width or 80, height or 24)
        handoff_read, handoff_write = os.pipe()
        env = self.hub.child_environment()
        env["TERM"] = process.term_type or "xterm-256color"
        for name in CLIENT_ENV:
            value = process.env.get(name)
            if isinstance(value, str) and value:
                env[name] = value
        env[HANDOFF_FD_VARIABLE] = str(handoff_read)
        try:
            child = await asyncio.create_subprocess_exec(
                *self.hub.options.app_command, stdin=slave, stdout=slave, stderr=slave,
                pass_fds=(handoff_read,), start_new_session=True, env=env, close_fds=True,
            )
        finally:
            os.close(slave)
            os.close(handoff_read)
        # The pre-authentication: who logged in, from where. Never a password.
        with os.fdopen(handoff_write, "wb") as handoff:
            handoff.write(json.dumps({"user_id": user_id, "remote": self.remote}).encode())
        self.hub.children.add(child.pid)
        log.info("session for %s from %s: app process %d", self.user_code, self.remote, child.pid)
        try:
            low_bandwidth = parse_bool("STRON_LOW_BANDWIDTH", env.get("STRON_LOW_BANDWIDTH", "0"))
        except ConfigurationError:
            low_bandwidth = False  # the app itself says what is wrong with the setting
        output = StationOutput(process, ScreenDiff(width or 80, height or 24) if low_bandwidth else None)
        try:
            await self._pump(process, child, master, output)
        finally:
            loop = asyncio.get_running_loop()
            loop.add_reader(master, _discard, master)  # an app saying goodbye must not block on a full pty
            started = time.monotonic()
            await _end_child(child, self.hub.options.hangup_grace)
            loop.remove_reader(master)
            log.info("app process %d ended (%s) in %.2f s", child.pid, child.returncode, time.monotonic() - started)
            self.hub.children.discard(child.pid)
            os.close(master)
        _exit(process, child.returncode if child.returncode and child.returncode > 0 else 0)

    async def _pump(self, process, child, master: int, output: "StationOutput") -> None:
        loop = asyncio.get_running_loop()
        os.set_blocking(master, False)
        last_input = time.monotonic()
        output_done = loop.create_future()
        chan = process.channel

        def finish_output() -> None:
            loop.remove_reader(master)
            if not output_done.done():
                output_done.set_result(None)

        def resume_reading(_=None) -> None:
            if not output_done.done():
                loop.add_reader(master, forward_output)

        def send_output() -> None:
            if not output.send():
                finish_output()
            elif chan.get_write_buffer_size() > WRITE_BUFFER_HIGH:
                # A slow link: let the app wait on its own terminal instead of buffering here.
                loop.remove_reader(master)
                asyncio.ensure_future(process.stdout.drain()).add_done_callback(resume_reading)

        def forward_output() -> None:
            try:
                data = os.read(master, 65536)
            except BlockingIOError:
                return
            except OSError:  # EIO: the app closed its terminal
                data = b""
            if not data:
                output.send()
                finish_output()
                return
            if output.add(data, loop.time()):
                send_output()
            else:
                output.schedule(loop, send_output)

        async def forward_input() -> None:
            nonlocal last_input
            while True:
                try:
                    data = await process.stdin.read(4096)
                except asyncssh.TerminalSizeChanged as change:
                    output.resize(change.width, change.height)
                    _set_window(master, change.width, change.height)
                    continue
                except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                    continue
                except (asyncssh.Error, ConnectionError, BrokenPipeError):
                    return
                if not data:
                    return
                last_input = time.monotonic()
                view = memoryview(data)
                while view:
                    try:
                        written = os.write(master, view)
                    except BlockingIOError:
                        await asyncio.sleep(0.01)
                        continue
                    except OSError:
                        return
                    view = view[written:]

        async def idle_watch() -> None:
            timeout = self.hub.options.idle_timeout
            while True:
                remaining = timeout - (time.monotonic() - last_input)
                if remaining <= 0:
                    log.info("session of %s from %s idle for %.0f s: closed", self.user_code, self.remote, timeout)
                    return
                await asyncio.sleep(min(remaining + 0.05, 60))

        loop.add_reader(master, forward_output)
        tasks = [asyncio.ensure_future(output_done), asyncio.ensure_future(forward_input()),
                 asyncio.ensure_future(idle_watch()), asyncio.ensure_future(child.wait())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            loop.remove_reader(master)
            for task in tasks:
                task.cancel()
        output.cancel()
        if child.returncode is not None:
            # The app ended by itself: pass on what it wrote last (its goodbye, the restored screen).
            _drain(master, output)
        output.send()


def _exit(process, status: int) -> None:
    try:
        process.exit(status)
    except (OSError, asyncssh.Error):
        pass  # the link is already gone


def _set_window(fd: int, width: int, height: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", max(height, 1), max(width, 1), 0, 0))


def _discard(master: int) -> None:
    try:
        os.read(master, 65536)
    except OSError:
        asyncio.get_running_loop().remove_reader(master)


def _drain(master: int, output: "StationOutput") -> None:
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        output.add(data, 0.0)


async def _end_child(child: asyncio.subprocess.Process, grace: float) -> None:
    """Hang up on the app's process group (as a dropped modem would), then kill what is left."""
    if child.returncode is None:
        try:
            os.killpg(child.pid, signal.SIGHUP)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(child.wait(), grace)
        except asyncio.TimeoutError:
            pass
    try:
        os.killpg(child.pid, signal.SIGKILL)  # anything the app left behind in its group
    except (ProcessLookupError, PermissionError):
        pass
    if child.returncode is None:
        await child.wait()


async def start_server(ctx: AppContext, host: str = "0.0.0.0", port: int = 2222,
                       options: ServerOptions | None = None) -> tuple[asyncssh.SSHAcceptor, StationHub]:
    from stron_tui.ssh.keys import load_or_create_host_keys

    options = options or ServerOptions()
    hub = StationHub(ctx, options)
    acceptor = await asyncssh.create_server(
        lambda: StationConnection(hub), host, port,
        server_host_keys=load_or_create_host_keys(ctx.settings),
        compression_algs=COMPRESSION, encryption_algs=ENCRYPTION, kex_algs=KEX, mac_algs=MACS,
        signature_algs=SIGNATURE_ALGS,
        encoding=None,
        agent_forwarding=False, x11_forwarding=False, allow_scp=False,
        keepalive_interval=options.keepalive_interval, keepalive_count_max=3,
        login_timeout=60,
        server_version="stron-tui",
    )
    return acceptor, hub


def bound_port(acceptor: asyncssh.SSHAcceptor) -> int:
    return acceptor.sockets[0].getsockname()[1]


async def serve_forever(ctx: AppContext, host: str, port: int, options: ServerOptions) -> None:
    acceptor, hub = await start_server(ctx, host, port, options)
    from stron_tui.ssh.keys import host_key_directory

    print(f"stron-tui SSH server listening on {host}:{bound_port(acceptor)} "
          f"(host keys in {host_key_directory(ctx.settings)}; database {ctx.db.display_url}); Ctrl+C stops it.",
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        acceptor.close()
        for pid in list(hub.children):
            try:
                os.killpg(pid, signal.SIGHUP)
            except ProcessLookupError:
                pass
        await acceptor.wait_closed()


def parse_listen(text: str) -> tuple[str, int]:
    from stron_tui.errors import ConfigurationError

    host, _, port_text = text.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigurationError(f"Give --listen as HOST:PORT, e.g. 0.0.0.0:2222, not {text!r}.") from None
    if not 0 <= port <= 65535:
        raise ConfigurationError(f"Port {port} is out of range.")
    return (host.strip("[]") or "0.0.0.0"), port


__all__ = ["ServerOptions", "StationHub", "start_server", "serve_forever", "parse_listen", "bound_port"]
