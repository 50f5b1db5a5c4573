"""Resume through your own OpenSSH: the ForceCommand wrapper runs `stron-tui station-attach`, whose holder
keeps a logged-in app across a dropped link (docs/ssh.md, section 2).

Everything is real but sshd: the wrapper on a pty (as sshd would run it, as the service account, with
SUDO_USER naming the station account as sudo would), the holder daemon, the app on SQLite in a temporary
data directory. The station's screen is read through a terminal emulator (pyte). Closing the pty's master
is the link dropping: sshd does the same when a station's connection dies.
"""

from __future__ import annotations

import fcntl
import getpass
import os
import pty
import re
import select
import shutil
import signal
import socket
import stat
import struct
import sys
import termios
import time
from pathlib import Path

import pyte
import pytest
from sqlalchemy import select as sql_select

from stron_tui.db.models import AuditEntry
from stron_tui.ssh.station_socket import HEADER, HELLO, HELLO_FORMAT, INPUT, VERSION, frame

WRAPPER = Path(__file__).resolve().parents[2] / "scripts" / "stron-tui-forcecommand"
STRON_TUI = Path(sys.executable).with_name("stron-tui")
KEYS = {"enter": b"\r", "f2": b"\x1bOQ", "f10": b"\x1b[21~", "tab": b"\t"}
WAIT = 60.0  # seconds: an app starts in a few on this 2-core machine, slower under a loaded test run


@pytest.fixture
def database_url(tmp_path, sqlite_template) -> str:
    # SQLite only: the app runs in a process of its own on the data directory's database file.
    path = tmp_path / "stron.sqlite3"
    shutil.copyfile(sqlite_template, path)
    path.chmod(0o600)
    return f"sqlite:///{path}"


class StationTerminal:
    """The wrapper on a pty of its own, as sshd runs the ForceCommand; the screen as a station shows it."""

    def __init__(self, env: dict[str, str], size=(80, 24)):
        self.pid, self.master = pty.fork()
        if self.pid == 0:
            os.execve(str(WRAPPER), [str(WRAPPER)], env)
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.screen = pyte.Screen(*size)
        self._stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.closed = False
        self.status: int | None = None

    @property
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def _read(self, timeout: float) -> None:
        if self.closed:
            time.sleep(timeout)
            return
        if not select.select([self.master], [], [], timeout)[0]:
            return
        try:
            data = os.read(self.master, 65536)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        self.raw += data
        self._stream.feed(data)

    def mark(self) -> int:
        return len(self.raw)

    def wait_for(self, pattern: str, *, since: int = 0, timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            if len(self.raw) > since and re.search(pattern, self.text):
                return self.text
            if self.closed or time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never appeared on screen; the screen:\n{self.text}\n"
                                     f"raw tail: {bytes(self.raw[-300:])!r}")
            self._read(0.1)

    def press(self, *keys: str) -> None:
        for key in keys:
            os.write(self.master, KEYS.get(key, key.encode()))
            time.sleep(0.05)

    def wait_exit(self, timeout: float = WAIT) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                while not self.closed:
                    self._read(0.1)
                return self.status
        raise AssertionError(f"the attacher did not end; the screen:\n{self.text}")

    def drop(self) -> None:
        """The link drops: the terminal's other end goes, the attacher is hung up."""
        os.close(self.master)
        self.closed = True
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                return
            time.sleep(0.05)
        raise AssertionError("the attacher outlived its terminal")

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        if not self.closed:
            os.close(self.master)
            self.closed = True


class Site:
    """A data directory and settings as docs/ssh.md sets them up, and the station terminals opened on it."""

    def __init__(self, tmp_path: Path, ctx, account: str):
        self.ctx = ctx
        self.account = account
        self.data = ctx.settings.data_dir
        self.stations = self.data / "stations"
        self.settings_file = tmp_path / "environment"
        self.settings = {"STRON_DATA_DIR": str(self.data), "STRON_DATABASE_URL": ctx.settings.database_url,
                         "STRON_MASTER_KEY_FILE": str(ctx.settings.master_key_file), "STRON_TUI": str(STRON_TUI),
                         "STRON_SSH_RESUME_MINUTES": "10"}
        self.home = tmp_path
        self.terminals: list[StationTerminal] = []

    def connect(self, **settings) -> StationTerminal:
        values = {**self.settings, **settings}
        self.settings_file.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
        self.settings_file.chmod(0o600)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home), "TERM": "xterm-256color",
               "STRON_SERVICE_USER": getpass.getuser(), "STRON_ENVIRONMENT_FILE": str(self.settings_file),
               "SUDO_USER": self.account}  # as sudo sets it for the station account
        terminal = StationTerminal(env)
        self.terminals.append(terminal)
        return terminal

    def holder_pid(self) -> int | None:
        """The live holder of the account, as its lock file names it."""
        try:
            text = (self.stations / f"{self.account}.lock").read_text().strip()
        except OSError:
            return None
        if not text.isdigit():
            return None
        pid = int(text)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if b"station-attach" in cmdline else None

    def wait_no_holder(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.holder_pid() is not None or (self.stations / f"{self.account}.sock").exists():
            if time.monotonic() > deadline:
                raise AssertionError("the holder is still there")
            time.sleep(0.1)

    def close(self) -> None:
        for terminal in self.terminals:
            terminal.close()
        pid = self.holder_pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)  # the holder hangs up its app and ends
            try:
                self.wait_no_holder()
            except AssertionError:
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def site(tmp_path, ctx, admin):
    site = Site(tmp_path, ctx, "station7")
    yield site
    site.close()


def _log_in(terminal: StationTerminal) -> None:
    terminal.wait_for(r"User ID")
    terminal.press("Admin", "enter")
    time.sleep(0.2)
    terminal.press("AdminPass1", "enter")
    terminal.wait_for(r"Main menu")


def _type_into_top_up(terminal: StationTerminal, digits: str) -> None:
    mark = terminal.mark()
    terminal.press("f2")
    terminal.wait_for(r"Find a meter to begin", since=mark)
    terminal.press(digits)
    terminal.wait_for(digits)


def test_a_dropped_link_comes_back_to_the_same_screen_with_the_typed_digits(site):
    first = site.connect()
    _log_in(first)
    _type_into_top_up(first, "4177")
    holder = site.holder_pid()
    assert holder is not None
    first.drop()
    time.sleep(0.5)
    assert site.holder_pid() == holder  # the app is kept
    again = site.connect()
    offer = again.wait_for(r"was cut off at \d\d:\d\d .* and is still open")
    assert "Enter  resume it" in offer and "N      start a new session" in offer
    mark = again.mark()
    again.press("enter")
    screen = again.wait_for(r"4177", since=mark)
    assert "Find a meter" in screen or "Top-up" in screen, screen
    mark = again.mark()
    again.press("9")  # the same app, still taking keys
    again.wait_for(r"41779", since=mark)
    assert site.holder_pid() == holder


def test_with_no_resume_grace_a_dropped_link_ends_the_app(site):
    first = site.connect(STRON_SSH_RESUME_MINUTES="0")
    _log_in(first)
    first.drop()
    site.wait_no_holder()
    with site.ctx.db.read_session() as session:
        actions = list(session.scalars(sql_select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions.count("logout") == 1, actions  # the hang-up ended the app the way a log-out does
    again = site.connect(STRON_SSH_RESUME_MINUTES="0")
    screen = again.wait_for(r"User ID")
    assert "cut off" not in screen


def test_a_logged_out_app_is_not_kept_when_its_link_drops(site):
    first = site.connect()
    _log_in(first)
    mark = first.mark()
    first.press("f10")
    first.wait_for(r"User ID", since=mark)
    first.drop()
    site.wait_no_holder()
    with site.ctx.db.read_session() as session:
        actions = list(session.scalars(sql_select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions.count("logout") == 1, actions  # logged out once, by F10; the hang-up had no one to log out


def test_a_second_connection_while_one_is_attached_is_refused_and_takes_nothing(site):
    first = site.connect()
    _log_in(first)
    second = site.connect()
    assert second.wait_exit() == 1
    assert "This station is in use" in second.text
    mark = first.mark()
    first.press("f2")  # the first still has its app
    first.wait_for(r"Find a meter to begin", since=mark)


def test_n_ends_the_suspended_app_and_starts_a_new_one(site):
    first = site.connect()
    _log_in(first)
    _type_into_top_up(first, "4242")
    old = site.holder_pid()
    first.drop()
    again = site.connect()
    again.wait_for(r"was cut off")
    again.press("n")
    screen = again.wait_for(r"User ID")
    assert "4242" not in screen
    new = site.holder_pid()
    assert new is not None and new != old
    assert not Path(f"/proc/{old}").exists() or site.holder_pid() != old


def test_a_socket_directory_others_can_enter_is_refused(site):
    site.stations.mkdir(mode=0o700)
    site.stations.chmod(0o755)
    terminal = site.connect()
    assert terminal.wait_exit() == 1
    assert "mode 0755" in terminal.text and "chmod 700" in terminal.text
    assert site.holder_pid() is None and not list(site.stations.iterdir())


def test_a_socket_with_another_mode_is_refused(site):
    site.stations.mkdir(mode=0o700)
    listener = socket.socket(socket.AF_UNIX)
    path = site.stations / f"{site.account}.sock"
    try:
        os.chdir(site.stations)  # a short address for bind
        listener.bind(path.name)
    finally:
        os.chdir(site.home)
    path.chmod(0o666)
    terminal = site.connect()
    assert terminal.wait_exit() == 1
    assert "refused" in terminal.text and site.holder_pid() is None
    listener.close()


def test_the_wrapper_refuses_an_account_name_that_is_not_plain(site):
    site.account = "../admin"
    terminal = site.connect()
    assert terminal.wait_exit() == 1
    assert "letters, digits and ._-" in terminal.text


def test_bad_frames_end_that_connection_not_the_holder(site):
    first = site.connect()
    _log_in(first)
    holder = site.holder_pid()
    directory = os.open(site.stations, os.O_RDONLY | os.O_DIRECTORY)
    address = f"/proc/self/fd/{directory}/{site.account}.sock"  # a short address whatever tmp_path's length
    for garbage in (HEADER.pack(INPUT, 65535) + b"x" * 100,  # larger than any frame may be
                    frame(ord("Z"), b"run this"),  # a kind no one knows
                    frame(HELLO, HELLO_FORMAT.pack(VERSION, 80, 24))[:-2]):  # a hello cut short
        with socket.socket(socket.AF_UNIX) as intruder:
            intruder.settimeout(15)
            intruder.connect(address)
            intruder.sendall(garbage)
            intruder.shutdown(socket.SHUT_WR)
            assert intruder.recv(100) == b""  # closed, unanswered
    os.close(directory)
    assert site.holder_pid() == holder
    mark = first.mark()
    first.press("f2")  # the station's session goes on
    first.wait_for(r"Find a meter to begin", since=mark)


def test_only_the_service_account_can_reach_the_socket(site):
    first = site.connect()
    _log_in(first)
    directory = site.stations.stat()
    sock = (site.stations / f"{site.account}.sock").stat()
    assert stat.S_IMODE(directory.st_mode) == 0o700 and directory.st_uid == os.geteuid()
    assert stat.S_ISSOCK(sock.st_mode) and stat.S_IMODE(sock.st_mode) == 0o600 and sock.st_uid == os.geteuid()
    lock = site.stations / f"{site.account}.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600


def test_a_window_resized_at_the_station_is_resized_for_the_app(site):
    terminal = site.connect()
    _log_in(terminal)
    mark = terminal.mark()
    terminal.screen.resize(30, 100)
    fcntl.ioctl(terminal.master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # SIGWINCH
    deadline = time.monotonic() + WAIT
    while not terminal.screen.display[29].strip():  # the app's footer, on the new last line
        assert time.monotonic() < deadline, terminal.text
        terminal._read(0.1)
    assert terminal.mark() > mark


def test_quitting_the_app_ends_the_station_connection_and_its_holder(site):
    terminal = site.connect()
    _log_in(terminal)
    terminal.press("\x11")  # Ctrl+Q
    assert terminal.wait_exit() == 0
    site.wait_no_holder()
    with site.ctx.db.read_session() as session:
        actions = list(session.scalars(sql_select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions.count("logout") == 1, actions


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another account")
def test_another_account_is_refused_even_where_the_directory_lets_it_in(site):
    first = site.connect()
    _log_in(first)
    site.stations.chmod(0o711)  # an administrator's slip: others may now reach the socket by name
    (site.stations / f"{site.account}.sock").chmod(0o666)
    reply_read, reply_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # as nobody: connect, say hello, report what came back
        answer = b"?"
        try:
            os.chdir(site.stations)  # in the directory already: the test's own parents are closed to nobody
            os.setgid(65534)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX) as intruder:
                intruder.settimeout(15)
                intruder.connect(f"{site.account}.sock")
                try:
                    intruder.sendall(frame(HELLO, HELLO_FORMAT.pack(VERSION, 80, 24)))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # closed already, before a word was read
                try:
                    answer = intruder.recv(100) or b"closed"
                except ConnectionResetError:
                    answer = b"closed"  # closed with our hello unread: the kernel says so with a reset
        except OSError as error:
            answer = f"error {error}".encode()
        finally:
            os.write(reply_write, answer)
            os._exit(0)
    os.close(reply_write)
    os.waitpid(pid, 0)
    answer = os.read(reply_read, 200)
    os.close(reply_read)
    assert answer == b"closed"  # no offer, no "in use", nothing: the holder closed it unanswered
    mark = first.mark()
    first.press("f2")
    first.wait_for(r"Find a meter to begin", since=mark)
