"""Pre-forked sessions: a warm template process with the app imported, from which each session is forked.

Starting a Python interpreter and importing Textual, SQLAlchemy and every screen costs each login about a
second of CPU and tens of megabytes of private memory. Instead, `serve-ssh` starts one template process
(`python -m stron_tui.ssh.prefork`) that imports the app once and then waits; for each session the
server sends it the session's pty and handoff pipe (SCM_RIGHTS over a socketpair) and the template
forks. The child shares the template's imported code and objects copy-on-write (gc.freeze keeps the
collector from touching them), so a login costs a fork, and a station's memory is what its own screens
make.

What must never cross the fork, and does not:
- a database connection: the template never opens the database; the child opens its own engine after
  the fork (session.main), so a database restarted since the template started is no concern;
- a thread: the template runs none (it reports its thread count when it starts, and refuses to serve
  with more than one), and waits with select(), not an event loop;
- an open file: the template holds only its standard streams (/dev/null in, the server's log out) and
  its control socket, which the child closes first.

Per-session state (the user, the terminal, the environment, the engine) is made in the child after the
fork. Each child is a session leader on its own pty, so a crash ends that station only; the template
reaps its children and tells the server each one's exit status. If the template itself dies, the server
starts a new one (and runs sessions the old way, one interpreter each, until it is ready).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys

CONTROL_FD_VARIABLE = "STRON_SSH_TEMPLATE_FD"
MESSAGE_LIMIT = 64 * 1024

log = logging.getLogger("stron_tui.ssh")


# The server's side ----------------------------------------------------------------------------------------

def process_gone(pid: int) -> bool:
    """Whether `pid` has ended (a zombie waiting for its parent counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")


class ForkedSession:
    """A session forked by the template: what StationApp needs of a child process (pid, returncode, wait)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self._ended = asyncio.get_running_loop().create_future()

    def ended(self, status: int) -> None:
        if not self._ended.done():
            self.returncode = status
            self._ended.set_result(status)

    async def wait(self) -> int:
        return await asyncio.shield(self._ended)


class SessionTemplate:
    """The server's handle on the template process."""

    def __init__(self, environment: dict[str, str]):
        self._environment = environment
        self._process: asyncio.subprocess.Process | None = None
        self._control: socket.socket | None = None
        self._waiting: list[asyncio.Future] = []  # replies to fork requests, in the order asked
        self._sessions: dict[int, ForkedSession] = {}
        self._ready: asyncio.Future | None = None
        self._lock = asyncio.Lock()
        self.info: dict = {}

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(self._environment)
        env[CONTROL_FD_VARIABLE] = str(theirs.fileno())
        # glibc gives each thread (Textual's input thread, worker threads) a malloc arena of its own, each
        # growing its own private pages in every session; two arenas are plenty for one station's app.
        env.setdefault("MALLOC_ARENA_MAX", os.environ.get("MALLOC_ARENA_MAX", "2"))
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "stron_tui.ssh.prefork", stdin=asyncio.subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),), env=env, close_fds=True)
        finally:
            theirs.close()
        ours.setblocking(False)
        self._control = ours
        self._ready = loop.create_future()
        loop.add_reader(ours.fileno(), self._receive)
        self.info = await asyncio.wait_for(asyncio.shield(self._ready), 60)
        log.info("session template %d ready (app imported%s, %d thread, %d files open)", self.pid,
                 ", warmed up" if self.info.get("warm") else "", self.info.get("threads", 0),
                 len(self.info.get("fds", [])))

    @property
    def ready(self) -> bool:
        """Whether sessions can be forked now."""
        return (self._control is not None and self._ready is not None and self._ready.done()
                and not self._ready.cancelled() and self._ready.exception() is None)

    def _receive(self) -> None:
        try:
            data = self._control.recv(MESSAGE_LIMIT)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._gone()
            return
        message = json.loads(data)
        if "ready" in message:
            if message.get("threads") != 1:
                self._ready.set_exception(RuntimeError(f"the template runs {message.get('threads')} threads"))
            else:
                self._ready.set_result(message)
        elif "started" in message or "failed" in message:
            if self._waiting:
                waiter = self._waiting.pop(0)
                if not waiter.done():
                    waiter.set_result(message)
        elif "ended" in message:
            session = self._sessions.pop(int(message["ended"]), None)
            if session is not None:
                session.ended(int(message["status"]))

    def _gone(self) -> None:
        """The template ended: fail what waits on it; its sessions live on, but their exits are not reported,
        so they are told ended when their terminal closes (StationApp watches the pty too)."""
        if self._control is not None:
            asyncio.get_running_loop().remove_reader(self._control.fileno())
            self._control.close()
            self._control = None
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(RuntimeError("the session template ended while starting"))
        for waiter in self._waiting:
            if not waiter.done():
                waiter.set_result({"failed": "the session template ended"})
        self._waiting.clear()
        log.warning("session template %s ended", self.pid)
        if self._sessions:
            asyncio.ensure_future(self._watch_orphans())

    async def _watch_orphans(self) -> None:
        """With the template gone, nobody reports its sessions' ends: look for them, so whatever waits on
        one (ending a suspended session, shutting the server down) is not left waiting for ever."""
        while self._sessions:
            for pid, session in list(self._sessions.items()):
                if process_gone(pid):
                    del self._sessions[pid]
                    session.ended(-1)
            await asyncio.sleep(0.5)

    async def fork(self, terminal: int, handoff: int, env: dict[str, str]) -> ForkedSession:
        """A new session process on `terminal` (the pty's station end), reading its handoff from `handoff`."""
        async with self._lock:
            if self._control is None:
                raise RuntimeError("the session template is not running")
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            socket.send_fds(self._control, [json.dumps({"env": env}).encode()], [terminal, handoff])
            reply = await asyncio.wait_for(waiter, 30)
        if "failed" in reply:
            raise RuntimeError(str(reply["failed"]))
        session = ForkedSession(int(reply["started"]))
        self._sessions[session.pid] = session
        return session

    def close(self) -> None:
        """Tell the template to end: it sees the end of its control socket and exits."""
        if self._control is not None:
            asyncio.get_running_loop().remove_reader(self._control.fileno())
            self._control.close()
            self._control = None

    def kill(self) -> None:
        """End the template process at once (the server is going and cannot wait for it)."""
        self.close()
        if self._process is not None and self._process.returncode is None:
            try:
                self._process.kill()
            except ProcessLookupError:
                pass

    async def stop(self) -> None:
        self.close()
        if self._process is not None and self._process.returncode is None:
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except asyncio.TimeoutError:
                self._process.kill()
                await self._process.wait()


# The template's side ---------------------------------------------------------------------------------------

def _preload() -> None:
    """Import what a session needs, so that no child imports it again."""
    import textual.app  # noqa: F401
    import textual.drivers.linux_driver  # noqa: F401

    import stron_tui.app  # noqa: F401 - the shell and, through it, what the menu needs
    import stron_tui.ssh.driver  # noqa: F401
    import stron_tui.ssh.session  # noqa: F401
    import screens  # noqa: F401
    from stron_tui.services.context import preload_database_layer

    # Every screen a session may open, and what the menu and the login draw: imported here once, shared by
    # every session, instead of once per session that opens it (tens of megabytes each, private).
    import importlib
    import pkgutil

    from screens.registry import ENTRIES
    from stron_tui import domain, services

    for module in ("screens.base", "screens.menu", "screens.login", "screens.help", "screens.keys",
                   "screens.placeholder", "widgets.status_line",
                   "textual.widgets._footer", "textual.widgets._label", "textual.layouts.horizontal",
                   "textual.layouts.stream", "textual.layouts.factory", "concurrent.futures.thread",
                   "stron_tui.db.revision", *sorted({entry.target.split(":")[0] for entry in ENTRIES if entry.target})):
        importlib.import_module(module)
    # Every service and domain module: screens import some of them only when first used (a sale).
    for package in (services, domain):
        for found in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(found.name)

    preload_database_layer()


def _warm_up() -> None:
    """Run the app once here, headless, on a scratch database made for it and removed after, to the menu
    and the Top-up Center and back. What every session runs first is then already specialised by the
    interpreter (Python rewrites a function's bytecode in place the first times it runs it) and Textual's
    caches are filled, in pages every session shares: a session forked after this writes to fewer of
    them, so it keeps less memory of its own, and draws its first screen sooner. Nothing of it stays
    open: the template still holds no connection, thread or file."""
    import asyncio
    import secrets
    import tempfile
    from pathlib import Path

    from stron_tui.app import StronApp
    from stron_tui.services import auth
    from stron_tui.services.bootstrap import ADMIN_USER
    from stron_tui.services.context import open_context
    from stron_tui.settings import load_settings

    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="stron-warm-") as scratch:
        settings = settings.with_overrides(data_dir=Path(scratch), database_url=f"sqlite:///{scratch}/warm.sqlite3",
                                           export_dir=Path(scratch) / "exports",
                                           master_key_file=Path(scratch) / "master.key")
        ctx = open_context(settings, migrate=True, master_key=secrets.token_bytes(32))
        try:
            password = secrets.token_urlsafe(16) + "a1"  # letters and digits, as the password policy asks
            auth.set_first_admin_password(ctx, password)
            actor = auth.authenticate(ctx, ADMIN_USER, password, source="ssh")
            app = StronApp(ctx, source="ssh", actor=actor, low_bandwidth=settings.low_bandwidth)

            async def visit() -> None:
                async with app.run_test(size=(80, 24)) as pilot:
                    for key in ("f2", "escape"):
                        await pilot.pause()
                        await app.workers.wait_for_complete()
                        await pilot.press(key)
                    await pilot.pause()
                    await app.workers.wait_for_complete()

            asyncio.run(visit())
        finally:
            ctx.close()


def _open_descriptors() -> list[int]:
    return sorted(int(name) for name in os.listdir("/proc/self/fd"))


def _send(control: socket.socket, message: dict) -> None:
    try:
        control.send(json.dumps(message).encode())
    except OSError:
        pass


def _run_session(request: dict, terminal: int, handoff: int) -> int:
    """In the forked child: become the session on `terminal` and run the app; its exit status."""
    from stron_tui.ssh import HANDOFF_FD_VARIABLE

    os.setsid()  # a session of its own: its pty becomes the controlling terminal (session.main)
    for target in (0, 1, 2):
        os.dup2(terminal, target)
    os.close(terminal)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request.get("env", {}).items()})
    os.environ[HANDOFF_FD_VARIABLE] = str(handoff)
    from stron_tui.ssh.session import main

    return main()


def _fork_session(control: socket.socket, wake: tuple[int, int], request: dict, fds: list[int]) -> int:
    if len(fds) != 2:
        for descriptor in fds:
            os.close(descriptor)
        raise ValueError("a fork request carries the terminal and the handoff pipe")
    terminal, handoff = fds
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.close(terminal)
        os.close(handoff)
        return pid
    status = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for descriptor in wake:
            os.close(descriptor)
        control.close()
        status = _run_session(request, terminal, handoff)
    except SystemExit as ended:
        status = ended.code if isinstance(ended.code, int) else (0 if ended.code is None else 1)
    except BaseException:  # noqa: BLE001 - this session's failure, said on its own terminal
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status if isinstance(status, int) else 1)


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(control, {"ended": pid, "status": os.waitstatus_to_exitcode(status)})


def template_main() -> int:
    import gc
    import select
    import threading

    descriptor = os.environ.pop(CONTROL_FD_VARIABLE, "")
    if not descriptor.isdigit():
        raise SystemExit("stron-tui: the session template is started by `stron-tui serve-ssh` only.")
    control = socket.socket(fileno=int(descriptor))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C on the server's terminal is the server's to handle
    _preload()
    warm = True
    try:
        _warm_up()
    except Exception as error:  # noqa: BLE001 - sessions still work, only each warms up on its own
        warm = False
        print(f"stron-tui: the session template could not warm up ({type(error).__name__}: {error})",
              file=sys.stderr, flush=True)
    gc.collect()
    gc.freeze()  # imported objects stay out of the collector's way: their pages stay shared after fork
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_write)
    _send(control, {"ready": True, "pid": os.getpid(), "threads": threading.active_count(),
                    "fds": _open_descriptors(), "warm": warm})
    while True:
        readable, _, _ = select.select([control, wake_read], [], [])
        if wake_read in readable:
            try:
                while os.read(wake_read, 512):
                    pass
            except BlockingIOError:
                pass
            _reap(control)
        if control in readable:
            try:
                data, fds, _, _ = socket.recv_fds(control, MESSAGE_LIMIT, 4)
            except OSError:
                data, fds = b"", []
            if not data:
                break  # the server ended: its sessions were hung up by it
            try:
                pid = _fork_session(control, (wake_read, wake_write), json.loads(data), fds)
            except (ValueError, OSError) as error:
                _send(control, {"failed": str(error)})
            else:
                _send(control, {"started": pid})
    return 0


if __name__ == "__main__":
    sys.exit(template_main())
