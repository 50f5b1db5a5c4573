"""The station holder: one station account's app, kept across dropped links (OpenSSH ForceCommand stations).

`stron-tui station-attach` starts it (attach.py) when the account has none: a daemon of the service
account, out of the SSH session's reach (double fork, its own session, no terminal), that runs the
plain app (`python -m stron_tui`, the environment it was started with) on a pty of its own and listens
on `<data dir>/stations/<account>.sock`. Attachers relay a station's terminal to it in frames
(station_socket.py). It ends with the app, removing its socket.

- The first attacher starts the app, at its window size, and is attached at once.
- An attacher going away (the link dropped) while someone is logged in to the app keeps the app for
  the resume grace (`ssh_resume_minutes`; resume.py: the same rule and timer as the embedded server),
  its output read and dropped; a logged-out app, or a grace of 0, is hung up at once. After the grace
  the app's process group gets SIGHUP.
- The next attacher is offered the kept app ("suspended since"); on resume the app is nudged into
  repainting its whole screen; on "new" it is hung up and the holder ends (the attacher starts another).
- While one connection has the app (attached, or being offered it), others are told it is busy.

Nothing a connection sends is run: input goes to the app's terminal, a window size (clamped) to its
pty; every frame is size-checked before it is read, output waits in at most WRITE_BUFFER_HIGH bytes
(then the app waits on its own terminal), and a bad frame ends that connection only. Only the service
account itself may connect (the directory's mode, and the peer's uid checked on each connection).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import struct
import sys

from stron_tui.ssh import REPORT_FD_VARIABLE
from stron_tui.ssh.resume import KeptApp, SessionState, discard_output, keeps_after_drop, repaint
from stron_tui.ssh.station import (
    DEFAULT_TERM,
    WRITE_BUFFER_HIGH,
    clamp_window,
    end_child,
    set_window,
    term_name_acceptable,
)
from stron_tui.ssh.station_socket import (
    ATTACHED,
    BUSY,
    CHOICE,
    HELLO,
    HELLO_FORMAT,
    INPUT,
    OFFER,
    OFFER_FORMAT,
    OUTPUT,
    OUTPUT_LIMIT,
    TO_HOLDER,
    VERSION,
    WINDOW,
    WINDOW_FORMAT,
    BadFrame,
    frame,
    read_frame,
)

log = logging.getLogger("stron_tui.ssh.holder")

HELLO_WAIT = 10.0  # seconds a connection has to say hello
FIRST_CLIENT_WAIT = 30.0  # a holder nobody attaches to within this ends
OFFER_WAIT = 600.0  # the attacher answers by itself after offer_wait(); this only frees a stuck connection
HANGUP_GRACE = 3.0  # seconds for the app to end after SIGHUP, then it is killed
LAST_OUTPUT_WAIT = 5.0  # seconds the app's last words may take to reach the attached station


def peer_is_us(sock: socket.socket) -> bool:
    """Whether the connecting process runs as this (the service) account."""
    try:
        _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                              struct.calcsize("3i")))
    except OSError:
        return False
    return uid == os.geteuid()


class Holder:
    def __init__(self, account: str, listener: socket.socket, grace: float):
        self.account = account
        self.listener = listener
        self.grace = grace
        self.child: asyncio.subprocess.Process | None = None
        self.master = -1
        self.state: SessionState | None = None
        self.kept: KeptApp | None = None
        self.client: asyncio.StreamWriter | None = None  # the connection that has the app, or is offered it
        self.relaying: asyncio.Task | None = None
        self.ending = False
        self._started: asyncio.Future | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._started = loop.create_future()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(self.end_app("stopped by a signal")))
        server = await asyncio.start_unix_server(self._connection, sock=self.listener)
        try:
            try:
                await asyncio.wait_for(asyncio.shield(self._started), FIRST_CLIENT_WAIT)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                log.info("no station attached: ended")
                return
            status = await self.child.wait()
            self.ending = True
            log.info("app process %d ended (%s)", self.child.pid, status)
            if self.kept is not None:
                self.kept.release()
                self.kept = None
            if self.relaying is not None:  # the station sees the app's goodbye
                await asyncio.wait([self.relaying], timeout=LAST_OUTPUT_WAIT)
        finally:
            server.close()

    # Connections ---------------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if not peer_is_us(writer.get_extra_info("socket")):
                log.warning("refused a connection from another account")
                return
            kind, payload = await asyncio.wait_for(read_frame(reader, TO_HOLDER), HELLO_WAIT)
            if kind != HELLO:
                raise BadFrame("no hello")
            version, width, height = HELLO_FORMAT.unpack(payload)
            if version != VERSION:
                raise BadFrame(f"version {version}")
            width, height = clamp_window(width, height)
            if self.ending:
                return  # the attacher starts a new holder once this one has gone
            if self.client is not None:
                writer.write(frame(BUSY))
                await writer.drain()
                return
            self.client = writer
            try:
                if self.child is None:
                    await self._start_app(width, height)
                    resumed = False
                elif not await self._offer(reader, writer):
                    return
                else:
                    resumed = True
                writer.write(frame(ATTACHED))
                if resumed:
                    log.info("resumed")
                    asyncio.ensure_future(repaint(self.master, width, height))
                self.relaying = asyncio.current_task()
                await self._relay(reader, writer)
            finally:
                self.client = None
                self.relaying = None
            if not self.ending and self.child.returncode is None:
                self._dropped()
        except (BadFrame, asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, struct.error) as error:
            log.info("a connection ended before it was attached: %s", _why(error))
        finally:
            writer.close()

    async def _offer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Offer the kept app to this connection; True when it is resumed."""
        if self.kept is None:
            return False
        writer.write(frame(OFFER, OFFER_FORMAT.pack(self.kept.since)))
        kind, payload = await asyncio.wait_for(read_frame(reader, TO_HOLDER), OFFER_WAIT)
        if kind != CHOICE or payload not in (b"r", b"n"):
            raise BadFrame("no answer to the offer")
        if self.kept is None or self.ending:
            return False  # the grace ran out meanwhile
        if payload == b"n":
            await self.end_app("the station chose a new session")
            return False
        self.kept.release()
        self.kept = None
        return True

    def _dropped(self) -> None:
        if keeps_after_drop(self.grace, self.state):
            self.kept = KeptApp(self.master, self.grace, lambda: self.end_app("not resumed within the grace"))
            log.info("link dropped: app kept for %.0f s", self.grace)
        else:
            reason = "nobody logged in" if self.grace > 0 else "no resume grace"
            asyncio.ensure_future(self.end_app(f"link dropped ({reason})"))

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The app's terminal to and from this connection, until either ends; a bad frame ends it too."""
        loop = asyncio.get_running_loop()
        master = self.master
        output_done = loop.create_future()

        def finish() -> None:
            loop.remove_reader(master)
            if not output_done.done():
                output_done.set_result(None)

        def resume_reading(drained: asyncio.Future) -> None:
            if not drained.cancelled() and drained.exception() is not None:
                finish()
            elif not output_done.done():
                loop.add_reader(master, forward_output)

        def forward_output() -> None:
            try:
                data = os.read(master, OUTPUT_LIMIT)
            except BlockingIOError:
                return
            except OSError:  # EIO: the app closed its terminal
                data = b""
            if not data:
                finish()
                return
            writer.write(frame(OUTPUT, data))
            if writer.transport.get_write_buffer_size() > WRITE_BUFFER_HIGH:
                # A slow station: the app waits on its own terminal rather than output piling up here.
                loop.remove_reader(master)
                asyncio.ensure_future(writer.drain()).add_done_callback(resume_reading)

        async def forward_input() -> None:
            try:
                while True:
                    kind, payload = await read_frame(reader, TO_HOLDER)
                    if kind == INPUT:
                        await _write_all(master, payload)
                    elif kind == WINDOW:
                        set_window(master, *clamp_window(*WINDOW_FORMAT.unpack(payload)))
                    else:
                        raise BadFrame("a frame out of place")
            except (BadFrame, asyncio.IncompleteReadError, ConnectionError, OSError) as error:
                log.info("the station's connection ended: %s", _why(error))

        loop.add_reader(master, forward_output)
        tasks = [output_done, asyncio.ensure_future(forward_input()), asyncio.ensure_future(self.child.wait())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            loop.remove_reader(master)
            for task in tasks:
                task.cancel()
        if self.child.returncode is not None:
            _pass_on_last_output(master, writer)
            try:
                await asyncio.wait_for(writer.drain(), LAST_OUTPUT_WAIT)
            except (asyncio.TimeoutError, ConnectionError):
                pass

    # The app ---------------------------------------------------------------------------------------

    async def _start_app(self, width: int, height: int) -> None:
        master, slave = os.openpty()
        ours, theirs = socket.socketpair()
        report, app_report = ours.detach(), theirs.detach()
        try:
            set_window(slave, width, height)
            env = dict(os.environ)
            env[REPORT_FD_VARIABLE] = str(app_report)
            if not term_name_acceptable(env.get("TERM", "")):
                env["TERM"] = DEFAULT_TERM
            # The plain app, the same interpreter; nothing from any connection chooses what runs.
            self.child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "stron_tui", stdin=slave, stdout=slave, stderr=slave,
                pass_fds=(app_report,), start_new_session=True, env=env, close_fds=True)
        except BaseException:
            os.close(master)
            os.close(report)
            if not self._started.done():
                self._started.cancel()
            raise
        finally:
            os.close(slave)
            os.close(app_report)
        os.set_blocking(master, False)
        os.set_blocking(report, False)
        self.master = master
        self.state = SessionState(report, logged_in=False)  # the app starts at its login screen
        self.state.listen()
        self._started.set_result(None)
        log.info("app process %d started at %dx%d", self.child.pid, width, height)

    async def end_app(self, reason: str) -> None:
        """Hang up the app (SIGHUP on its process group, as the embedded server does); the holder then ends."""
        if self.ending:
            return
        self.ending = True
        if self.child is None:
            if self._started is not None and not self._started.done():
                self._started.cancel()
            return
        log.info("ending the app: %s", reason)
        if self.kept is not None:
            self.kept.release()
            self.kept = None
        loop = asyncio.get_running_loop()
        draining = self.relaying is None
        if draining:  # an app saying goodbye must not block on a full terminal
            loop.add_reader(self.master, discard_output, self.master)
        try:
            await end_child(self.child, HANGUP_GRACE)
        finally:
            if draining:
                try:
                    loop.remove_reader(self.master)
                except (ValueError, OSError):
                    pass


def _why(error: BaseException) -> str:
    if isinstance(error, asyncio.IncompleteReadError):
        return "closed"
    if isinstance(error, asyncio.TimeoutError):
        return "no answer in time"
    if isinstance(error, BadFrame):
        return f"bad frame ({error})"
    return str(error) or type(error).__name__


async def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(descriptor, view):]
        except BlockingIOError:
            await asyncio.sleep(0.01)  # the app is busy: the station's keys wait (and so does its connection)


def _pass_on_last_output(master: int, writer: asyncio.StreamWriter) -> None:
    """What the app wrote before it ended (its goodbye, the restored screen), to the attached station."""
    for _ in range(64):  # at most 1 MB: an app that has ended writes no more
        try:
            data = os.read(master, OUTPUT_LIMIT)
        except OSError:
            return
        if not data:
            return
        writer.write(frame(OUTPUT, data))


def run_holder(account: str, directory, listener: socket.socket, grace: float, lock: int,
               log_descriptor: int) -> None:
    """The holder process's whole life (in the daemon attach.py forked); never returns. `directory` is the
    checked StationDirectory; `lock` the account's lock file, locked: it stays locked until this process
    is gone, so no second holder starts meanwhile."""
    status = 1
    try:
        _become_daemon(log_descriptor, keep=(listener.fileno(), lock, log_descriptor, directory.fd))
        logging.basicConfig(stream=os.fdopen(2, "w", buffering=1), level=logging.INFO,
                            format=f"%(asctime)s station {account} %(levelname)s %(message)s")
        os.ftruncate(lock, 0)
        os.pwrite(lock, f"{os.getpid()}\n".encode(), 0)  # who holds the account's app, for the administrator
        log.info("holder %d started (resume grace %.0f s)", os.getpid(), grace)
        asyncio.run(Holder(account, listener, grace).run())
        status = 0
    except BaseException:  # noqa: BLE001 - logged; a daemon has no one else to tell
        log.exception("holder failed")
    finally:
        try:
            directory.remove_socket(account)  # still ours: the lock is held until the process is gone
            log.info("holder %d ended", os.getpid())
        finally:
            os._exit(status)


def _become_daemon(log_descriptor: int, keep: tuple[int, ...]) -> None:
    """No terminal and no descriptor of the attacher's but those named: stdin and stdout /dev/null, stderr
    the log. Signals as a fresh process has them."""
    for signum in (signal.SIGHUP, signal.SIGWINCH, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:
        pass
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(log_descriptor, 2)
    os.close(null)
    wanted = {0, 1, 2, *keep}
    for descriptor in _open_descriptors():
        if descriptor not in wanted:
            try:
                os.close(descriptor)
            except OSError:
                pass
    os.chdir("/")


def _open_descriptors() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 1024))


__all__ = ["Holder", "run_holder", "peer_is_us"]
