"""The embedded SSH server: remote stations log in and each session gets its own app process.

- Users log in with their stron-tui password (same lockout as the login
  screen) or with an SSH public key registered to them in System Management.
- Before login, connections are capped in total and per source address, the
  login grace is short, and password attempts are throttled per address and
  per user and address (limits.py). After login, sessions are capped in
  total, per user and per address.
- A session with a terminal runs `python -m stron_tui.ssh.session` on a
  pseudo-terminal of its own, already logged in as the SSH user: one
  session's crash or slow query never touches another (station.py). The user
  id reaches the child through an inherited pipe, never a password.
- SFTP gives read-only access to the user's own export directory.
- No exec, no port forwarding, no agent or X11 forwarding; compression on
  (wire.py: what is offered and how it is sent).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from dataclasses import dataclass, field

import asyncssh

from stron_tui.services.context import AppContext
from stron_tui.settings import CONFIG_VARIABLE, Settings
from stron_tui.ssh import HANDOFF_FD_VARIABLE
from stron_tui.ssh.prefork import SessionTemplate
from stron_tui.ssh.resume import SuspendedSessions
from stron_tui.ssh.status import StatusBoard
from stron_tui.ssh.limits import AttemptLimiter, RateLimitedLog, SessionCaps, StartupGate, raise_file_limit
from stron_tui.ssh.station import (
    CLIENT_ENV,
    CLIENT_ENV_LONGEST,
    StationApp,
    exit_session,
    settings_environment,
    term_name_acceptable,
)
from stron_tui.ssh.wire import (
    COMPRESSION,
    ENCRYPTION,
    KEX,
    MACS,
    SIGNATURE_ALGS,
    tune_connection,
    with_bounded_environment,
    without_padding_packets,
)

log = logging.getLogger("stron_tui.ssh")


@dataclass
class ServerOptions:
    max_sessions: int = 50
    sessions_per_user: int = 3  # a cashier's app and an SFTP window, and one to spare
    sessions_per_address: int = 20  # a site's stations behind one NAT address
    max_startups: int = 100  # connections not logged in yet, in total ...
    startups_per_address: int = 10  # ... and from one source address
    login_grace: float = 30.0  # seconds a connection has to log in
    idle_timeout: float = 30 * 60  # seconds without a key from the station before the session ends
    low_bandwidth: bool = True  # the default over SSH; the client can send STRON_LOW_BANDWIDTH=0
    max_auth_tries: int = 10  # passwords and keys offered on one connection before it is closed (as MaxAuthTries)
    failures_per_address: int = 10  # password attempts from one address ...
    failure_window: float = 10 * 60  # ... within this many seconds block it this long (doubling on repeat)
    backoff_base: float = 1.0  # seconds one user must wait after a failure from one address, doubling ...
    backoff_max: float = 60.0  # ... up to this
    refusal_log_interval: float = 60.0  # each kind of refused connection is logged at most this often
    hangup_grace: float = 3.0  # seconds for an app to end after its link drops, then it is killed
    app_command: list[str] = field(default_factory=lambda: [sys.executable, "-m", "stron_tui.ssh.session"])
    keepalive_interval: float = 30.0
    resume_grace: float = 10 * 60  # seconds a session whose link dropped is kept for its user (0: never)
    prefork: bool = True  # fork sessions from a warm template (prefork.py) rather than start an interpreter each

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> "ServerOptions":
        values = dict(max_sessions=settings.ssh_max_sessions, sessions_per_user=settings.ssh_sessions_per_user,
                      sessions_per_address=settings.ssh_sessions_per_address,
                      max_startups=settings.ssh_max_startups,
                      startups_per_address=settings.ssh_startups_per_address,
                      login_grace=float(settings.ssh_login_grace_seconds),
                      resume_grace=float(settings.ssh_resume_minutes) * 60)
        values.update(overrides)
        return cls(**values)


class StationHub:
    """What all connections share: the context, the options, and the limits' counts."""

    def __init__(self, ctx: AppContext, options: ServerOptions, master_key: bytes | None = None):
        self.ctx = ctx
        self.options = options
        self.limiter = AttemptLimiter(options.failures_per_address, options.failure_window,
                                      backoff_base=options.backoff_base, backoff_max=options.backoff_max)
        self.startups = StartupGate(options.max_startups, options.startups_per_address)
        self.caps = SessionCaps(options.max_sessions, options.sessions_per_user, options.sessions_per_address)
        self.refusals = RateLimitedLog(log, options.refusal_log_interval)
        self.sessions: set[StationSession] = set()
        self.children: set[int] = set()
        self._master_key = master_key
        self.status = StatusBoard(ctx.settings, "")
        self.template: SessionTemplate | None = None
        self.resumable = SuspendedSessions(self, options.resume_grace)
        self._template_starting: asyncio.Task | None = None
        self._templates_starting: set[SessionTemplate] = set()
        self._closed = False  # set once the server is shut: no template is started after it

    async def start_template(self) -> None:
        """Start the session template, once: a start already under way is waited for, never doubled."""
        if self._template_starting is None or self._template_starting.done():
            self._template_starting = asyncio.ensure_future(self._start_template())
        await asyncio.shield(self._template_starting)

    async def _start_template(self) -> None:
        template = SessionTemplate(self.child_environment())
        self._templates_starting.add(template)
        try:
            await template.start()
        except Exception as error:  # noqa: BLE001 - sessions then start one interpreter each
            log.warning("the session template did not start (%s); sessions start the slower way", error)
            await template.stop()
            return
        except BaseException:  # cancelled (the server is closing): the process must not outlive it
            template.kill()
            raise
        finally:
            self._templates_starting.discard(template)
        if self._closed:  # the server closed while it started
            await template.stop()
            return
        self.template = template

    def close_template(self) -> None:
        """Tell the template, and any being started, to end; no new one is started after this."""
        self._closed = True
        if self.template is not None:
            self.template.close()
        for template in self._templates_starting:
            template.close()

    async def stop_template(self) -> None:
        """Close the template and wait for every template process of this server to be gone."""
        self.close_template()
        if self._template_starting is not None and not self._template_starting.done():
            self._template_starting.cancel()
            try:
                await self._template_starting
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - it is being thrown away
                pass
        if self.template is not None:
            await self.template.stop()

    async def start_session_process(self, terminal: int, handoff: int, env: dict[str, str]):
        """The app's process for one session on `terminal`: forked from the template when it is ready,
        else started as an interpreter of its own (and the template restarted, once, in the background)."""
        if self.options.prefork:
            if self.template is not None and self.template.ready:
                try:
                    return await self.template.fork(terminal, handoff, env)
                except (RuntimeError, OSError, asyncio.TimeoutError) as error:
                    log.warning("could not fork a session from the template: %s", error)
            if not self._closed and (self._template_starting is None or self._template_starting.done()):
                self._template_starting = asyncio.ensure_future(self._start_template())
        env = dict(env)
        env[HANDOFF_FD_VARIABLE] = str(handoff)
        return await asyncio.create_subprocess_exec(
            *self.options.app_command, stdin=terminal, stdout=terminal, stderr=terminal,
            pass_fds=(handoff,), start_new_session=True, env=env, close_fds=True,
        )

    def child_environment(self) -> dict[str, str]:
        keep = ("PATH", "HOME", "PYTHONPATH", "VIRTUAL_ENV", "TZ", "TMPDIR")
        env = {name: os.environ[name] for name in keep if name in os.environ}
        if self.ctx.settings.config_file is not None:
            env[CONFIG_VARIABLE] = str(self.ctx.settings.config_file)
        env.update(settings_environment(self.ctx.settings))
        env["STRON_SOURCE"] = "ssh"
        env["STRON_LOW_BANDWIDTH"] = "1" if self.options.low_bandwidth else "0"
        return env

    def handoff(self, user_id: int, remote: str, key_fingerprint: str = "") -> dict:
        """What a session's app process is told through its pipe: who, from where, with which SSH key (for
        the key's printing setting), the database and the master key (the secrets never in its
        environment, which lingers in /proc for its whole life)."""
        message: dict = {"user_id": user_id, "remote": remote, "database_url": self.ctx.settings.database_url,
                         "key_fingerprint": key_fingerprint}
        if self._master_key is not None:
            message["master_key"] = self._master_key.hex()
        return message


class StationSession(asyncssh.SSHServerProcess):
    """A session channel: a terminal (the app) or the SFTP subsystem; no exec, no other subsystem.

    It holds a place under the session caps from its opening to its end; a session opened past a cap is
    told why (terminal) or refused (SFTP) and holds none.
    """

    def __init__(self, connection: "StationConnection", refusal: str | None):
        super().__init__(connection.run_station, connection.sftp_server, 3, False)
        self._hub = connection.hub
        self._place = None if refusal else (connection.user_key, connection.remote)
        self.refusal = refusal

    def connection_made(self, chan) -> None:
        with_bounded_environment(chan, CLIENT_ENV, CLIENT_ENV_LONGEST)
        super().connection_made(chan)

    def release(self) -> None:
        if self._place is not None:
            self._hub.caps.release(*self._place)
            self._place = None
        self._hub.sessions.discard(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.release()
        super().connection_lost(exc)

    def pty_requested(self, term_type: str, term_size, term_modes) -> bool:
        # Window sizes are clamped where they are used (station.clamp_window); a TERM name with control
        # characters or of absurd length is refused here, before anything is made for it.
        return term_name_acceptable(term_type)

    def exec_requested(self, command: str) -> bool:
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        return subsystem == "sftp" and self.refusal is None


class StationConnection(asyncssh.SSHServer):
    """One SSH connection: its pre-authentication limits, its authentication and its sessions."""

    def __init__(self, hub: StationHub):
        self.hub = hub
        self.conn: asyncssh.SSHServerConnection | None = None
        self.remote = ""
        self.user_id: int | None = None
        self.user_code = ""
        self._key_fingerprint = ""
        self._starting = False  # counted by the startup gate until it logs in or goes
        self._auth_tries = 0
        self._login = asyncio.get_running_loop().create_future()

    # Connection and authentication --------------------------------------------------

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("",)
        self.remote = str(peer[0])
        if self.hub.limiter.blocked(self.remote):
            self._refuse("blocked", "refused connections from %s: too many password attempts from there",
                         self.remote)
            return
        refused = self.hub.startups.admit(self.remote)
        if refused == "total":
            self._refuse("startups", "refused connections: %d connections are already logging in",
                         self.hub.startups.count)
            return
        if refused == "source":
            self._refuse("startups-source", "refused connections from %s: %d of its connections are already "
                         "logging in", self.remote, self.hub.startups.per_source)
            return
        self._starting = True
        tune_connection(conn)

    def _refuse(self, kind: str, message: str, *args) -> None:
        # Closed before the version exchange: the socket is given back at once, nothing is parsed.
        self.hub.refusals.warning(kind, message, *args)
        self.conn.abort()

    def _started(self) -> None:
        if self._starting:
            self._starting = False
            self.hub.startups.release(self.remote)

    def connection_lost(self, exc: Exception | None) -> None:
        self._started()
        if not self._login.done():
            self._login.set_result(None)

    def begin_auth(self, username: str) -> bool:
        return True

    def _too_many_tries(self) -> bool:
        """Count a password or key offered on this connection; past the most allowed, close it."""
        self._auth_tries += 1
        if self._auth_tries <= self.hub.options.max_auth_tries:
            return False
        self.hub.refusals.warning("auth-tries", "closed a connection from %s: more than %d passwords or keys "
                                  "offered", self.remote, self.hub.options.max_auth_tries)
        self.conn.close()
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

        # Counted now, before the first await: a client that pipelines its next request cancels this
        # check, and a cancelled attempt must count as much as a failed one.
        attempt = self.hub.limiter.begin(username, self.remote)
        if self._too_many_tries():
            return False
        if not attempt.allowed:
            self.hub.refusals.warning("throttled", "refused a password attempt for %r from %s unchecked: "
                                      "too many attempts", username[:64], self.remote)
            return False
        try:
            actor = await asyncio.to_thread(auth.authenticate, self.hub.ctx, username, password,
                                            source="ssh", remote=self.remote)
        except StronError:
            return False
        self.hub.limiter.succeeded(attempt)
        self.user_id, self.user_code = actor.user_id, actor.user_code
        self._key_fingerprint = ""  # a key offered earlier did not log this session in
        self._login.set_result(self.user_id)
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        from stron_tui.services.public_keys import key_fingerprint, key_may_log_in

        if self._too_many_tries() or self.hub.limiter.blocked(self.remote):
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

        self._started()
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

    @property
    def user_key(self) -> str:
        """The user as the session caps count them: the name as the database folds it (any spelling)."""
        from stron_tui.domain.text import fold

        return fold(self.user_code)

    # What the connection may ask for ------------------------------------------------

    def session_requested(self):
        refusal = self.hub.caps.claim(self.user_key, self.remote)
        if refusal is not None:
            self.hub.refusals.warning("sessions", "refused a session of %s from %s: %s", self.user_code,
                                      self.remote, refusal)
        session = StationSession(self, refusal)
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

    async def run_station(self, process: StationSession) -> None:
        try:
            status = await self._run_station(process)
        except Exception:  # a failure here ends this session only
            log.exception("SSH session from %s failed", self.remote)
            status = 1
        finally:
            process.release()
        exit_session(process, status)

    async def _run_station(self, process: StationSession) -> int:
        if process.refusal is not None:
            process.stderr.write(f"stron-tui: {process.refusal}; close one and connect again.\r\n".encode())
            return 1
        if process.term_type is None:
            process.stderr.write(b"stron-tui needs a terminal: connect with ssh -t (PuTTY asks for one itself).\r\n")
            return 1
        user_id = await self._login
        if user_id is None:
            return 1
        return await StationApp(self.hub, process, user_id=user_id, user_code=self.user_code,
                                remote=self.remote, key_fingerprint=self._key_fingerprint).run()


def _quiet_accept_errors(loop: asyncio.AbstractEventLoop, refusals: RateLimitedLog) -> None:
    """An accept that fails for want of descriptors is said once per interval, without a traceback.

    asyncio logs each such failure with its traceback and retries a second later; under a flood of
    connections that was tens of megabytes of log a minute. The startup caps keep it from happening;
    this keeps the log readable if the host's file limit is set lower than they assume.
    """
    previous = loop.get_exception_handler()

    def handler(loop, context) -> None:
        if context.get("message", "").startswith("socket.accept() out of system resource"):
            refusals.warning("accept", "cannot accept connections: %s (raise the service's file limit, see "
                             "docs/security.md)", context.get("exception"))
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


async def start_server(ctx: AppContext, host: str = "0.0.0.0", port: int = 2222,
                       options: ServerOptions | None = None) -> tuple[asyncssh.SSHAcceptor, StationHub]:
    from stron_tui.services.context import configured_master_key
    from stron_tui.ssh.keys import load_or_create_host_keys

    options = options or ServerOptions()
    # Read (and checked against the database) once here, so every session works with the key the server
    # started with, from STRON_MASTER_KEY or the key file alike.
    hub = StationHub(ctx, options, master_key=configured_master_key(ctx))
    _quiet_accept_errors(asyncio.get_running_loop(), hub.refusals)
    if options.prefork:
        # Ready before the first login: sessions arriving meanwhile would each import the app themselves.
        await hub.start_template()
    acceptor = await asyncssh.create_server(
        lambda: StationConnection(hub), host, port,
        server_host_keys=load_or_create_host_keys(ctx.settings),
        compression_algs=COMPRESSION, encryption_algs=ENCRYPTION, kex_algs=KEX, mac_algs=MACS,
        signature_algs=SIGNATURE_ALGS,
        encoding=None,
        line_editor=False,  # the app reads raw keys: no asyncssh line editor (nor its wrapper channel)
        agent_forwarding=False, x11_forwarding=False, allow_scp=False,
        keepalive_interval=options.keepalive_interval, keepalive_count_max=3,
        login_timeout=options.login_grace,
        server_version="stron-tui",
    )
    hub.status.listen = f"{host}:{bound_port(acceptor)}"
    hub.status.start()
    return acceptor, hub


async def close_server(acceptor: asyncssh.SSHAcceptor, hub: StationHub, *, grace: float = 3.0) -> None:
    """Shut the server down for good: stop listening, hang up every session (killed if still there after
    `grace` seconds), end the suspended ones and stop the session template, one being started included,
    so no process of the server outlives it."""
    acceptor.close()
    hub.status.stop()
    # The template reports its sessions' ends: it is stopped last, once they are all gone.
    await hub.resumable.end_all()
    for pid in list(hub.children):
        try:
            os.killpg(pid, signal.SIGHUP)
        except ProcessLookupError:
            pass
    for _ in range(int(grace / 0.05)):
        if not hub.children:
            break
        await asyncio.sleep(0.05)
    for pid in list(hub.children):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    await acceptor.wait_closed()
    await hub.stop_template()


def bound_port(acceptor: asyncssh.SSHAcceptor) -> int:
    return acceptor.sockets[0].getsockname()[1]


async def serve_forever(ctx: AppContext, host: str, port: int, options: ServerOptions) -> None:
    soft, hard = raise_file_limit()
    acceptor, hub = await start_server(ctx, host, port, options)
    from stron_tui.ssh.keys import host_key_directory

    print(f"stron-tui SSH server listening on {host}:{bound_port(acceptor)} "
          f"(host keys in {host_key_directory(ctx.settings)}; database {ctx.db.display_url}; "
          f"open files limit {soft}); Ctrl+C stops it.", flush=True)
    needed = options.max_startups + 4 * options.max_sessions + 64
    if soft < needed:
        log.warning("the open files limit %d is below the %d these limits may need: raise the service's "
                    "LimitNOFILE (see docs/security.md)", soft, needed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await close_server(acceptor, hub)


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


__all__ = ["ServerOptions", "StationHub", "start_server", "close_server", "serve_forever", "parse_listen", "bound_port",
           "ENCRYPTION", "without_padding_packets"]
