"""The station session: the app in a process of its own on a pseudo-terminal, and its output on the way out.

Everything a client sends about its terminal is checked before anything is allocated for it: the window
size is clamped (a 3000x3000 window would cost the server hundreds of megabytes in the screen model and
the app), a TERM name or client environment value with control characters is refused, and every
descriptor (pty ends, the handoff pipe) is closed on every path out, error or not.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import re
import signal
import socket
import struct
import termios
import time
from typing import TYPE_CHECKING

import asyncssh

from stron_tui.errors import ConfigurationError
from stron_tui.settings import Settings, parse_bool
from stron_tui.ssh import HANDOFF_FD_VARIABLE
from stron_tui.ssh.resume import (
    RESUME_PREAMBLE,
    SessionState,
    Suspended,
    discard_output,
    keeps_after_drop,
    offer_answer,
    offer_wait,
    repaint,
    resume_offer,
)
from stron_tui.ssh.screen_diff import ScreenDiff

if TYPE_CHECKING:
    from stron_tui.ssh.server import StationHub

log = logging.getLogger("stron_tui.ssh")

# Environment a client may send (ssh -o SetEnv=..., PuTTY's Environment panel) that the app honours.
CLIENT_ENV = ("STRON_LOW_BANDWIDTH", "STRON_ASCII", "LANG", "LC_ALL", "LC_CTYPE")
CLIENT_ENV_LONGEST = 64
CLIENT_ENV_VALUE = re.compile(r"[A-Za-z0-9._@+=:-]{1,%d}\Z" % CLIENT_ENV_LONGEST)  # a locale name, a flag
# A terminal type name as terminfo spells them (xterm-256color, putty, vt100, screen.xterm-256color).
TERM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\Z")
DEFAULT_TERM = "xterm-256color"
# The largest window a station gets: wider than any real screen at a readable font, small enough that the
# screen model and the app's own buffers stay a few megabytes. Larger requests are clamped to it.
MAX_COLUMNS = 500
MAX_ROWS = 200
DEFAULT_SIZE = (80, 24)  # when the client sends 0 (unknown)

WRITE_BUFFER_HIGH = 64 * 1024  # stop reading the app's output while this much waits for a slow link
OUTPUT_QUIET = 0.010  # seconds of quiet from the app before its output is sent (see StationOutput)
OUTPUT_MAX_DELAY = 0.030  # ... but never held longer than this
OUTPUT_BATCH_LIMIT = 32 * 1024  # or this many bytes


def clamp_window(width: int, height: int) -> tuple[int, int]:
    """A window size the server will allocate for: unknown (0) becomes 80x24, the rest 1..MAX."""
    width = width or DEFAULT_SIZE[0]
    height = height or DEFAULT_SIZE[1]
    return max(1, min(width, MAX_COLUMNS)), max(1, min(height, MAX_ROWS))


def term_name_acceptable(term_type: str) -> bool:
    return bool(TERM_NAME.match(term_type))


def client_environment(sent: dict) -> dict[str, str]:
    """The client's variables the app honours; values with anything but plain characters are left out."""
    chosen = {}
    for name in CLIENT_ENV:
        value = sent.get(name)
        if isinstance(value, bytes):
            try:
                value = value.decode("ascii")
            except UnicodeDecodeError:
                continue
        if isinstance(value, str) and CLIENT_ENV_VALUE.match(value):
            chosen[name] = value
    return chosen


def settings_environment(settings: Settings) -> dict[str, str]:
    """The server's effective settings as STRON_* variables, so every session child uses the same ones.

    Not the database URL (it may hold a password): that goes through the handoff pipe with the master key.
    """
    return settings.as_environment(("data_dir", "export_dir", "master_key_file", "timezone", "currency",
                                    "lockout_attempts", "lockout_minutes", "idle_lock_minutes", "utility_name"))


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


class Descriptors:
    """The descriptors one session opened; whatever is still open is closed when the session ends."""

    def __init__(self) -> None:
        self._open: set[int] = set()

    def add(self, *descriptors: int) -> None:
        self._open.update(descriptors)

    def close(self, descriptor: int) -> None:
        if descriptor in self._open:
            self._open.discard(descriptor)
            try:
                asyncio.get_running_loop().remove_reader(descriptor)
            except RuntimeError:
                pass
            os.close(descriptor)

    def close_all(self) -> None:
        for descriptor in list(self._open):
            try:
                self.close(descriptor)
            except OSError:
                pass


class StationApp:
    """One terminal session: starts the app already logged in, pumps keys and screens, ends it."""

    def __init__(self, hub: "StationHub", process: asyncssh.SSHServerProcess, *, user_id: int, user_code: str,
                 remote: str, key_fingerprint: str = ""):
        self.hub = hub
        self.process = process
        self.user_id = user_id
        self.user_code = user_code
        self.remote = remote
        self.key_fingerprint = key_fingerprint  # the SSH key this session logged in with ("" for a password)

    async def run(self) -> int:
        """Run the app until it ends, the link drops or the station idles out; the app's exit status.

        A dropped link keeps the app for the resume grace (resume.py) instead of ending it.
        """
        from stron_tui.services.stations import user_station_code
        from stron_tui.ssh.status import SessionStatus

        try:
            self.station = await asyncio.to_thread(user_station_code, self.hub.ctx, self.user_id)
        except Exception:  # noqa: BLE001 - the status list shows "-"; the app says what is wrong
            self.station = ""
        now = time.time()
        self.hub.status.opened(id(self), SessionStatus(user=self.user_code, station=self.station,
                                                       address=self.remote, started_at=now, last_input_at=now))
        self._kept = False
        try:
            suspended = await self._offer_suspended()
            if suspended is not None:
                return await self._attach(suspended.child, suspended.master, suspended.descriptors,
                                          suspended.low_bandwidth, suspended.state, resumed=True)
            return await self._start()
        finally:
            if not self._kept:
                self.hub.status.closed(id(self))

    async def _offer_suspended(self):
        """The user's suspended session at this station, if they choose to resume it."""
        suspended = self.hub.resumable.get(self.user_id, self.station)
        if suspended is None:
            return None
        self.process.stdout.write(resume_offer(suspended.since, self.hub.ctx.settings.zone, suspended.remote))
        while True:
            try:
                data = await asyncio.wait_for(self.process.stdin.read(64), offer_wait(self.hub.options.login_grace))
            except asyncssh.TerminalSizeChanged:
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue
            except asyncio.TimeoutError:
                data = b"\r"  # nobody answered: the session they had is what they most likely want
            except (asyncssh.Error, ConnectionError, BrokenPipeError):
                return None
            if not data:
                return None
            answer = offer_answer(data)
            if answer == "resume":
                return self.hub.resumable.take(suspended)
            if answer == "new":
                await self.hub.resumable.end(suspended)
                return None

    async def _start(self) -> int:
        process = self.process
        width, height = clamp_window(*process.term_size[:2])
        env = self.hub.child_environment()
        env["TERM"] = process.term_type if term_name_acceptable(process.term_type or "") else DEFAULT_TERM
        env.update(client_environment(process.env))
        descriptors = Descriptors()
        child = None
        try:
            master, slave = os.openpty()
            descriptors.add(master, slave)
            set_window(slave, width, height)
            # A socket pair, not a pipe: the handoff goes one way, then the app says on it whether someone
            # is logged in (a dropped link keeps only a logged-in session).
            ours, theirs = socket.socketpair()
            handoff_write, handoff_read = ours.detach(), theirs.detach()
            descriptors.add(handoff_read, handoff_write)
            env[HANDOFF_FD_VARIABLE] = str(handoff_read)
            child = await self.hub.start_session_process(slave, handoff_read, env)
            self.hub.children.add(child.pid)
            descriptors.close(slave)
            descriptors.close(handoff_read)
            # The pre-authentication: who logged in, from where, and the master key the server holds (so a
            # key given in STRON_MASTER_KEY works in every session). Through a pipe, never the environment.
            _write_all(handoff_write, json.dumps(self.hub.handoff(self.user_id, self.remote,
                                                                         self.key_fingerprint)).encode())
            _end_sending(handoff_write)
            log.info("session for %s from %s: app process %d", self.user_code, self.remote, child.pid)
            try:
                low_bandwidth = parse_bool("STRON_LOW_BANDWIDTH", env.get("STRON_LOW_BANDWIDTH", "0"))
            except ConfigurationError:
                low_bandwidth = False  # the app itself says what is wrong with the setting
        except BaseException:
            if child is not None:
                await self._end(child, descriptors, master)
            descriptors.close_all()
            raise
        state = SessionState(handoff_write)
        return await self._attach(child, master, descriptors, low_bandwidth, state, resumed=False)

    async def _attach(self, child, master: int, descriptors: "Descriptors", low_bandwidth: bool,
                      state: "SessionState", *, resumed: bool) -> int:
        """Connect the app on `master` to this link until the app ends, the station idles out or the link
        drops; a dropped link suspends the session (when the grace allows), the rest end it."""
        process = self.process
        width, height = clamp_window(*process.term_size[:2])
        self.hub.status.changed(id(self), pid=child.pid)
        output = StationOutput(process, ScreenDiff(width, height) if low_bandwidth else None)
        self._link_lost = False
        suspended = False
        try:
            if resumed:
                log.info("session of %s resumed from %s: app process %d", self.user_code, self.remote, child.pid)
                try:
                    process.stdout.write(RESUME_PREAMBLE)
                except (OSError, asyncssh.Error):
                    pass
                asyncio.ensure_future(repaint(master, width, height))
            state.listen()
            try:
                await self._pump(child, master, output)
            finally:
                state.stop_listening()
            if self._link_lost and child.returncode is None and keeps_after_drop(self.hub.resumable.grace, state):
                self.hub.resumable.keep(Suspended(
                    user_id=self.user_id, user_code=self.user_code, station=self.station, remote=self.remote,
                    child=child, master=master, descriptors=descriptors, low_bandwidth=low_bandwidth,
                    state=state, status_key=id(self)))
                suspended = self._kept = True
                return 0
        finally:
            if not suspended:
                await self._end(child, descriptors, master)
                descriptors.close_all()
        return child.returncode if child.returncode and child.returncode > 0 else 0

    async def _end(self, child: asyncio.subprocess.Process, descriptors: Descriptors, master: int) -> None:
        loop = asyncio.get_running_loop()
        draining = False
        try:
            loop.add_reader(master, discard_output, master)  # an app saying goodbye must not block on a full pty
            draining = True
        except (ValueError, OSError):
            pass
        started = time.monotonic()
        try:
            await end_child(child, self.hub.options.hangup_grace)
        finally:
            if draining:
                loop.remove_reader(master)
            self.hub.children.discard(child.pid)
        log.info("app process %d ended (%s) in %.2f s", child.pid, child.returncode, time.monotonic() - started)

    async def _pump(self, child, master: int, output: StationOutput) -> None:
        process = self.process
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
                self._link_lost = True
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
                    width, height = clamp_window(change.width, change.height)
                    output.resize(width, height)
                    set_window(master, width, height)
                    continue
                except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                    continue
                except (asyncssh.Error, ConnectionError, BrokenPipeError):
                    self._link_lost = True
                    return
                if not data:
                    self._link_lost = True
                    return
                last_input = time.monotonic()
                self.hub.status.key_pressed(id(self))
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
            output.cancel()
            for task in tasks:
                task.cancel()
        if child.returncode is not None:
            # The app ended by itself: pass on what it wrote last (its goodbye, the restored screen).
            _drain(master, output)
        output.send()


def _end_sending(descriptor: int) -> None:
    """Shut the handoff socket for writing (the app reads to its end) and keep it for the app's news."""
    duplicate = socket.socket(fileno=os.dup(descriptor))
    try:
        duplicate.shutdown(socket.SHUT_WR)
    finally:
        duplicate.close()
    os.set_blocking(descriptor, False)


def exit_session(process, status: int) -> None:
    try:
        process.exit(status)
    except (OSError, asyncssh.Error):
        pass  # the link is already gone


def set_window(fd: int, width: int, height: int) -> None:
    width, height = clamp_window(width, height)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def _drain(master: int, output: StationOutput) -> None:
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        output.add(data, 0.0)


async def end_child(child: asyncio.subprocess.Process, grace: float) -> None:
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
        try:  # killed: its end is seen within moments, unless nobody is left to report it
            await asyncio.wait_for(child.wait(), max(grace, 5.0))
        except asyncio.TimeoutError:
            log.warning("app process %d was killed but its end was not seen", child.pid)
