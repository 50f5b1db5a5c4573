"""The station holder's socket (OpenSSH ForceCommand stations): where it lives, who may use it, its frames.

`<data dir>/stations/` holds, per station account, `<account>.sock` (the holder listens there),
`<account>.lock` (held by the live holder for its whole life: one holder per account; it holds the
holder's pid) and `<account>.log` (what its holders did: started, link dropped, kept, resumed, ended;
emptied when a holder starts and finds it over LOG_LIMIT). The directory is
the service account's, mode 0700, so a station account (which reaches the service account only through
sudo and the wrapper) cannot connect to anyone's socket; a directory or socket with another owner or
any group or other bit is refused, never used or "fixed".

Frames: a kind byte, a two-byte length, the payload. Every kind has a size limit, checked on the header
before the payload is read: a frame too long, of an unknown kind or in the wrong place ends that
connection, never the holder.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from pathlib import Path

from stron_tui.errors import StronError

# A Unix account name as useradd makes them; never a path, an option or an empty name.
ACCOUNT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}\Z")

LOG_LIMIT = 1024 * 1024
VERSION = 1  # in the hello: a holder of another version (an upgrade meanwhile) ends the connection

HEADER = struct.Struct(">BH")
HELLO = ord("H")  # attacher -> holder: version, window columns and rows
CHOICE = ord("C")  # attacher -> holder: b"r" resume the suspended session, b"n" end it (a new one follows)
INPUT = ord("I")  # attacher -> holder: keys
WINDOW = ord("W")  # attacher -> holder: columns, rows (the station's window changed)
ATTACHED = ord("A")  # holder -> attacher: the app is on this connection now
BUSY = ord("B")  # holder -> attacher: another connection has this account's session
OFFER = ord("O")  # holder -> attacher: a session is suspended since (seconds since the epoch, a double)
OUTPUT = ord("D")  # holder -> attacher: the app's output

HELLO_FORMAT = struct.Struct(">BHH")
WINDOW_FORMAT = struct.Struct(">HH")
OFFER_FORMAT = struct.Struct(">d")
INPUT_LIMIT = 4096
OUTPUT_LIMIT = 16384

# Payload sizes allowed: (least, most).
TO_HOLDER = {HELLO: (HELLO_FORMAT.size, HELLO_FORMAT.size), CHOICE: (1, 1), INPUT: (1, INPUT_LIMIT),
             WINDOW: (WINDOW_FORMAT.size, WINDOW_FORMAT.size)}
TO_ATTACHER = {ATTACHED: (0, 0), BUSY: (0, 0), OFFER: (OFFER_FORMAT.size, OFFER_FORMAT.size),
               OUTPUT: (1, OUTPUT_LIMIT)}


class BadFrame(Exception):
    """A frame of an unknown kind, of the wrong size or out of place: the connection ends."""


def frame(kind: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def check_header(header: bytes, allowed: dict[int, tuple[int, int]]) -> tuple[int, int]:
    kind, length = HEADER.unpack(header)
    limits = allowed.get(kind)
    if limits is None or not limits[0] <= length <= limits[1]:
        raise BadFrame(f"frame {kind} of {length} bytes")
    return kind, length


async def read_frame(reader, allowed: dict[int, tuple[int, int]]) -> tuple[int, bytes]:
    """The next frame from an asyncio stream (IncompleteReadError at its end)."""
    kind, length = check_header(await reader.readexactly(HEADER.size), allowed)
    return kind, (await reader.readexactly(length) if length else b"")


class FrameReader:
    """Frames out of a byte stream read in pieces (the attacher's side)."""

    def __init__(self, allowed: dict[int, tuple[int, int]]):
        self._allowed = allowed
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= HEADER.size:
            kind, length = check_header(bytes(self._buffer[:HEADER.size]), self._allowed)
            if len(self._buffer) < HEADER.size + length:
                break
            frames.append((kind, bytes(self._buffer[HEADER.size:HEADER.size + length])))
            del self._buffer[:HEADER.size + length]
        return frames


def check_account(name: str) -> str:
    if not ACCOUNT_NAME.match(name or ""):
        raise StronError(f"The station account name {name[:64]!r} may hold only letters, digits and ._- (and "
                         f"not begin with . or -): ask the administrator for a plain account name.")
    return name


def _owner_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def private_to_us(status: os.stat_result) -> bool:
    return status.st_uid == os.geteuid() and not status.st_mode & (stat.S_IRWXG | stat.S_IRWXO)


class StationDirectory:
    """`<data dir>/stations`, checked once and then used through its descriptor (a directory swapped or
    relinked after the check is never the one used)."""

    def __init__(self, data_dir: Path):
        from stron_tui.private_files import make_private_directory

        self.path = Path(data_dir) / "stations"
        me = _owner_name(os.geteuid())
        try:
            make_private_directory(self.path)
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as error:
            raise StronError(f"The station directory {self.path} cannot be used ({error.strerror}): it must be a "
                             f"directory of {me}, mode 0700.") from None
        status = os.fstat(self.fd)
        if not private_to_us(status):
            os.close(self.fd)
            raise StronError(
                f"The station directory {self.path} belongs to {_owner_name(status.st_uid)} with mode "
                f"{stat.S_IMODE(status.st_mode):04o}; it must be {me}'s with mode 0700 (as root: chown {me} "
                f"{self.path} && chmod 700 {self.path}). Stations are refused until then.")

    def socket_path(self, account: str) -> str:
        # Through the directory's descriptor: the one checked, and short enough for a socket address (at
        # most 107 bytes) whatever the data directory's path.
        if os.path.isdir("/proc/self/fd"):
            return f"/proc/self/fd/{self.fd}/{account}.sock"
        return str(self.path / f"{account}.sock")

    def check_socket(self, account: str) -> bool:
        """Whether the account's socket exists; one that is not ours alone (or not a socket) is refused."""
        name = f"{account}.sock"
        try:
            status = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if not stat.S_ISSOCK(status.st_mode) or not private_to_us(status):
            raise StronError(
                f"{self.path / name} is not a socket of {_owner_name(os.geteuid())} with mode 0600 (it is "
                f"{_owner_name(status.st_uid)}'s, mode {stat.S_IMODE(status.st_mode):04o}): refused. Remove it "
                f"(rm {self.path / name}) and connect again.")
        return True

    def remove_socket(self, account: str) -> None:
        try:
            os.unlink(f"{account}.sock", dir_fd=self.fd)
        except FileNotFoundError:
            pass

    def restrict_socket(self, account: str) -> None:
        os.chmod(f"{account}.sock", 0o600, dir_fd=self.fd)

    def open_lock(self, account: str) -> int:
        return self._open_private(f"{account}.lock", os.O_RDWR | os.O_CREAT)

    def open_log(self, account: str) -> int:
        descriptor = self._open_private(f"{account}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        if os.fstat(descriptor).st_size > LOG_LIMIT:
            os.ftruncate(descriptor, 0)
        return descriptor

    def _open_private(self, name: str, flags: int) -> int:
        try:
            descriptor = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=self.fd)
        except OSError as error:
            raise StronError(f"Cannot open {self.path / name}: {error.strerror}.") from None
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or not private_to_us(status):
            os.close(descriptor)
            raise StronError(f"{self.path / name} must be a file of {_owner_name(os.geteuid())} with mode 0600 "
                             f"(it is mode {stat.S_IMODE(status.st_mode):04o}): refused. Remove it and connect "
                             f"again.")
        return descriptor
