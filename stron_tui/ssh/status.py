"""The SSH server's status: which sessions are open, for `stron-tui status` and `stron-tui restore`.

Each running `serve-ssh` keeps a file `<data dir>/run/ssh-<pid>.json` (mode 0600, in the private data
dir): its address, and per session the user, their sales station, the station's address, when it
started, when a key was last pressed and whether it is suspended. It is rewritten (atomically) when a
session opens or ends at once, and every few seconds while keys were pressed, never once per key. A file
whose process is gone is stale: it is ignored and removed. A file, not a socket: a Unix socket's path is
limited to 108 bytes, which a deep data directory exceeds, and a file answers even while the server is
busy.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REFRESH_SECONDS = 5.0


@dataclass
class SessionStatus:
    user: str
    station: str
    address: str
    started_at: float  # Unix time
    last_input_at: float  # Unix time of the last key pressed
    suspended: bool = False
    pid: int | None = None  # the session's app process


@dataclass
class ServerStatus:
    pid: int
    listen: str
    started_at: float
    sessions: list[SessionStatus] = field(default_factory=list)
    updated_at: float = 0.0


def run_directory(settings) -> Path:
    return settings.data_dir / "run"


class StatusBoard:
    """The server's side: sessions register here and the file follows."""

    def __init__(self, settings, listen: str):
        self.path = run_directory(settings) / f"ssh-{os.getpid()}.json"
        self.listen = listen
        self.started_at = time.time()
        self._sessions: dict[int, SessionStatus] = {}
        self._dirty = False
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        from stron_tui.private_files import make_private_directory

        make_private_directory(self.path.parent)
        self.write()
        self._task = asyncio.ensure_future(self._refresh())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.path.unlink(missing_ok=True)

    def opened(self, key: int, status: SessionStatus) -> None:
        self._sessions[key] = status
        self.write()

    def changed(self, key: int, **changes) -> None:
        status = self._sessions.get(key)
        if status is not None:
            for name, value in changes.items():
                setattr(status, name, value)
            self.write()

    def key_pressed(self, key: int) -> None:
        status = self._sessions.get(key)
        if status is not None:
            status.last_input_at = time.time()
            self._dirty = True

    def closed(self, key: int) -> None:
        if self._sessions.pop(key, None) is not None:
            self.write()

    def snapshot(self) -> ServerStatus:
        return ServerStatus(pid=os.getpid(), listen=self.listen, started_at=self.started_at,
                            sessions=list(self._sessions.values()), updated_at=time.time())

    def write(self) -> None:
        self._dirty = False
        document = asdict(self.snapshot())
        partial = self.path.with_name(f".{self.path.name}.partial")
        try:
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(document, handle)
            os.replace(partial, self.path)
        except OSError:
            pass  # the status is for people; a full disk must not end a session

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            if self._dirty:
                self.write()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_servers(settings) -> list[ServerStatus]:
    """Every running serve-ssh on this data directory; stale files of ended servers are removed."""
    directory = run_directory(settings)
    servers = []
    for path in sorted(directory.glob("ssh-*.json")) if directory.is_dir() else []:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            sessions = [SessionStatus(**session) for session in document.pop("sessions", [])]
            server = ServerStatus(sessions=sessions, **document)
        except (OSError, ValueError, TypeError):
            continue
        if not _alive(server.pid):
            path.unlink(missing_ok=True)
            continue
        servers.append(server)
    return servers


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_status(servers: list[ServerStatus], now: float | None = None) -> str:
    now = time.time() if now is None else now
    if not servers:
        return "No SSH server is running on this data directory."
    lines = []
    for server in servers:
        started = datetime.fromtimestamp(server.started_at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        suspended = sum(1 for session in server.sessions if session.suspended)
        lines.append(f"serve-ssh pid {server.pid} on {server.listen}, up since {started}: "
                     f"{len(server.sessions)} sessions ({suspended} suspended)")
        if server.sessions:
            lines.append(f"  {'User':16} {'Station':10} {'Address':39} {'Idle':>8}  State")
        for session in sorted(server.sessions, key=lambda s: (s.user.lower(), s.started_at)):
            state = "suspended" if session.suspended else "attached"
            lines.append(f"  {session.user[:16]:16} {(session.station or '-')[:10]:10} {session.address[:39]:39} "
                         f"{_duration(now - session.last_input_at):>8}  {state}")
    return "\n".join(lines)


def open_sessions_sentence(settings) -> str:
    """A few words on the SSH sessions open now, for a refusal ("" when no server runs)."""
    servers = read_servers(settings)
    if not servers:
        return ""
    users = sorted({session.user for server in servers for session in server.sessions})
    pids = ", ".join(str(server.pid) for server in servers)
    shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
    return f"serve-ssh pid {pids} is running with {sum(len(s.sessions) for s in servers)} sessions" + (
        f": {shown}" if users else "")
