"""`stron-tui station-attach ACCOUNT`: a station's terminal, relayed to the app its holder keeps (holder.py).

The OpenSSH ForceCommand (scripts/stron-tui-forcecommand) runs it as the service account for the
station account that logged in. It finds the account's holder on `<data dir>/stations/<account>.sock`,
or starts one (none there, or a stale socket nobody answers), and then:

- puts its terminal in raw mode and relays: keys to the holder, the app's output to the terminal, a
  window change (SIGWINCH) as a frame; the terminal is restored when it ends;
- when the holder keeps an app whose link dropped, shows the embedded server's offer (Enter resumes it,
  repainted; N ends it and starts anew);
- when another connection of the account has the app, says so and ends ("This station is in use").

A dropped link ends this process (sshd hangs up its terminal); the holder decides the rest.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import socket
import struct
import termios
import time
import tty

from stron_tui.errors import StronError
from stron_tui.ssh.resume import RESUME_PREAMBLE, offer_answer, offer_wait, resume_offer
from stron_tui.ssh.station_socket import (
    ATTACHED,
    BUSY,
    CHOICE,
    HELLO,
    HELLO_FORMAT,
    INPUT,
    INPUT_LIMIT,
    OFFER,
    OFFER_FORMAT,
    OUTPUT,
    TO_ATTACHER,
    VERSION,
    WINDOW,
    WINDOW_FORMAT,
    BadFrame,
    FrameReader,
    StationDirectory,
    check_account,
    frame,
)

STARTING_WAIT = 20.0  # seconds to wait for a holder that is starting or ending (it holds the account's lock)
ANSWER_WAIT = 30.0  # seconds for a holder to answer the hello
ATTEMPTS = 3  # holders started for one connection before giving up (each ended before attaching it)


class _Again(Exception):
    """The holder ended before this connection was attached (a new session was chosen, or the grace ran
    out during the offer): start over with a new one."""


class _Busy(Exception):
    pass


class _Hangup(Exception):
    pass


def attach(account: str, settings) -> int:
    account = check_account(account)
    if not os.isatty(0) or not os.isatty(1):
        raise StronError("station-attach needs a terminal: connect with ssh -t (PuTTY asks for one itself).")
    directory = StationDirectory(settings.data_dir)
    grace = float(settings.ssh_resume_minutes) * 60
    for signum in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, _hang_up)
    try:
        for _ in range(ATTEMPTS):
            connection = _connect(directory, account, grace)
            try:
                with RawTerminal(0) as terminal:
                    _Station(connection, terminal, settings).run()
                return 0
            except _Again:
                continue
            finally:
                connection.close()
    except _Busy:
        raise StronError(f"This station is in use: the session of {account} is open on another connection. "
                         f"Close that one and connect again (a connection whose link died is noticed within "
                         f"about 90 seconds).") from None
    except BadFrame:
        raise StronError(f"The station's session answered what this version does not understand (was "
                         f"stron-tui upgraded while it ran?); its log is {_log_name(directory, account)}.") from None
    except _Hangup:
        return 129  # the link dropped; the holder keeps the app or ends it
    raise StronError(f"The station's session could not be started; its log is {_log_name(directory, account)}.")


def _log_name(directory: StationDirectory, account: str) -> str:
    return str(directory.path / f"{account}.log")


def _hang_up(signum, frame) -> None:
    raise _Hangup()


def _connect(directory: StationDirectory, account: str, grace: float) -> socket.socket:
    """A connection to the account's holder, started here when there is none."""
    deadline = time.monotonic() + STARTING_WAIT
    while True:
        if directory.check_socket(account):
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connection.connect(directory.socket_path(account))
                return connection
            except (FileNotFoundError, ConnectionRefusedError):
                connection.close()  # stale: its holder is gone (or going)
        lock = directory.open_lock(account)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # a holder is starting or ending
            else:
                _start_holder(directory, account, grace, lock)
                continue
        finally:
            os.close(lock)  # the holder keeps the lock through its own descriptor
        if time.monotonic() > deadline:
            raise StronError("The station's previous session is still ending; connect again in a moment.")
        time.sleep(0.1)


def _start_holder(directory: StationDirectory, account: str, grace: float, lock: int) -> None:
    """Listen on the account's socket, then hand it to a holder daemon (double fork, setsid): a connection
    made once this returns waits in the listen queue until the holder takes it."""
    from stron_tui.ssh.holder import run_holder

    directory.remove_socket(account)  # stale (checked ours by check_socket); the lock says no holder lives
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(directory.socket_path(account))
        directory.restrict_socket(account)
        listener.listen(8)
        log_descriptor = directory.open_log(account)
        try:
            pid = os.fork()
            if pid == 0:  # the first child: a session of its own; its child, never a session leader, holds
                status = 1
                try:
                    os.setsid()
                    if os.fork() == 0:
                        run_holder(account, directory, listener, grace, lock, log_descriptor)
                    status = 0
                finally:
                    os._exit(status)
            os.waitpid(pid, 0)
        finally:
            os.close(log_descriptor)
    except OSError as error:
        directory.remove_socket(account)
        raise StronError(f"Cannot start the station's session ({error.strerror}).") from None
    finally:
        listener.close()


class RawTerminal:
    """The station's terminal in raw mode while the app has it; restored as it was on the way out."""

    def __init__(self, descriptor: int):
        self.descriptor = descriptor
        self._saved = None

    def __enter__(self) -> "RawTerminal":
        self._saved = termios.tcgetattr(self.descriptor)
        tty.setraw(self.descriptor, termios.TCSANOW)
        return self

    def __exit__(self, *exc) -> None:
        try:
            termios.tcsetattr(self.descriptor, termios.TCSADRAIN, self._saved)
        except termios.error:
            pass  # the terminal is gone with the link

    def size(self) -> tuple[int, int]:
        try:
            rows, columns, _, _ = struct.unpack("HHHH", fcntl.ioctl(self.descriptor, termios.TIOCGWINSZ, b"\0" * 8))
        except OSError:
            return 80, 24
        return columns or 80, rows or 24


class _Station:
    """One connection to the holder: the hello, the offer if any, then the relay."""

    def __init__(self, connection: socket.socket, terminal: RawTerminal, settings):
        self.connection = connection
        self.terminal = terminal
        self.settings = settings
        self.frames = FrameReader(TO_ATTACHER)
        self.pending: list[tuple[int, bytes]] = []

    def send(self, kind: int, payload: bytes = b"") -> bool:
        """False when the holder has gone."""
        try:
            self.connection.sendall(frame(kind, payload))
        except OSError:
            return False
        return True

    def next_frame(self, timeout: float) -> tuple[int, bytes] | None:
        """The holder's next frame; None at the end of the connection."""
        deadline = time.monotonic() + timeout
        while not self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.connection], [], [], remaining)[0]:
                raise StronError("The station's session does not answer; connect again in a moment.")
            data = self._receive()
            if not data:
                return None
            self.pending += self.frames.feed(data)
        return self.pending.pop(0)

    def _receive(self) -> bytes:
        try:
            return self.connection.recv(65536)
        except OSError:
            return b""

    def run(self) -> None:
        self.size = self.terminal.size()
        if not self.send(HELLO, HELLO_FORMAT.pack(VERSION, *self.size)):
            raise _Again()
        answer = self.next_frame(ANSWER_WAIT)
        if answer is None:
            raise _Again()
        kind, payload = answer
        if kind == BUSY:
            raise _Busy()
        if kind == OFFER:
            (since,) = OFFER_FORMAT.unpack(payload)
            self._offer(since)
            answer = self.next_frame(ANSWER_WAIT)
            if answer is None:
                raise _Again()
            kind, payload = answer
            _write(1, RESUME_PREAMBLE)
        if kind != ATTACHED:
            raise BadFrame("no attachment")
        self._relay()

    def _offer(self, since: float) -> None:
        """The embedded server's offer, answered here: resume (Enter) or a new session (N)."""
        _write(1, resume_offer(since, self.settings.zone))
        deadline = time.monotonic() + offer_wait(float(self.settings.ssh_login_grace_seconds))
        choice = None
        while choice is None:
            remaining = deadline - time.monotonic()
            ready = select.select([0, self.connection], [], [], max(0.0, remaining))[0] if remaining > 0 else []
            if not ready:
                choice = "resume"  # nobody answered: the session they had is what they most likely want
            elif self.connection in ready:
                raise _Again()  # the holder ended meanwhile (the grace ran out)
            else:
                choice = offer_answer(_read_keys(64))
        if not self.send(CHOICE, b"r" if choice == "resume" else b"n"):
            raise _Again()
        if choice == "new":
            _write(1, b"\r\nEnding it; a new session starts ...\r\n")
            while self.next_frame(STARTING_WAIT) is not None:
                pass
            raise _Again()

    def _relay(self) -> None:
        resized = [False]
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        previous_wakeup = signal.set_wakeup_fd(wake_write)
        previous_handler = signal.signal(signal.SIGWINCH, lambda signum, frame: resized.__setitem__(0, True))
        # A window changed during the offer (no SIGWINCH was watched then) is told now.
        resized[0] = self.terminal.size() != self.size
        if resized[0]:
            os.write(wake_write, b"\0")
        try:
            for kind, payload in self.pending:
                if kind == OUTPUT:
                    _write(1, payload)
            self.pending.clear()
            while True:
                ready = select.select([0, self.connection, wake_read], [], [])[0]
                if wake_read in ready:
                    try:
                        os.read(wake_read, 512)
                    except BlockingIOError:
                        pass
                    if resized[0]:
                        resized[0] = False
                        if not self.send(WINDOW, WINDOW_FORMAT.pack(*self.terminal.size())):
                            return  # the app ended
                if 0 in ready:
                    if not self.send(INPUT, _read_keys(INPUT_LIMIT)):
                        return
                if self.connection in ready:
                    data = self._receive()
                    if not data:
                        return  # the app ended
                    for kind, payload in self.frames.feed(data):
                        if kind == OUTPUT:
                            _write(1, payload)
        finally:
            signal.signal(signal.SIGWINCH, previous_handler)
            signal.set_wakeup_fd(previous_wakeup)
            os.close(wake_read)
            os.close(wake_write)


def _read_keys(limit: int) -> bytes:
    try:
        keys = os.read(0, limit)
    except OSError:
        keys = b""
    if not keys:
        raise _Hangup()  # the station's terminal is gone with its link
    return keys


def _write(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(descriptor, view):]
        except OSError:
            raise _Hangup() from None  # the station's terminal is gone
