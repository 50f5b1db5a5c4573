"""Sessions that outlive a dropped link: kept for a grace period, then offered to the same user again.

When a station's link drops (not when the app ends or the station idles out), its app process stays
alive, on its own terminal, for `ssh_resume_minutes` (default 10): its screen, what was typed, and a sale
in flight carry on without a station watching (the sale commits or not; the app's idle lock still comes
when it is due). The same user logging in again from the same sales station (password or key) is
offered it, and gets the same screen back, repainted. A user holds at most one suspended session per
station: a second one dropping ends the first. After the grace the app is hung up as before.

Both doors use the parts here: the embedded server (SuspendedSessions below, station.py) and the
station holder behind an OpenSSH ForceCommand (holder.py, attach.py): whether a dropped link keeps the
app (SessionState, keeps_after_drop), keeping it (KeptApp: its output dropped, the grace timer), the
offer and its answer, and the repaint on resume.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Awaitable, Callable

log = logging.getLogger("stron_tui.ssh")

# What the app's terminal driver set up on the old station's terminal, set again on the new one before the
# repaint: the alternate screen, no cursor, bracketed paste; then a clear screen for the repaint to fill.
RESUME_PREAMBLE = b"\x1b[?1049h\x1b[?25l\x1b[?2004h\x1b[H\x1b[2J"


class SessionState:
    """Whether someone is logged in to a session's app, as the app says on its report socket ("in" / "out"
    lines: ssh/session.py)."""

    def __init__(self, descriptor: int, *, logged_in: bool = True):
        self.descriptor = descriptor
        # The embedded server's app starts logged in as the SSH user; a held app starts at its login screen.
        self.logged_in = logged_in
        self._pending = b""
        self._listening = False

    def listen(self) -> None:
        try:
            asyncio.get_running_loop().add_reader(self.descriptor, self._read)
            self._listening = True
        except (ValueError, OSError):
            pass

    def stop_listening(self) -> None:
        if self._listening:
            self._listening = False
            try:
                asyncio.get_running_loop().remove_reader(self.descriptor)
            except (ValueError, OSError):
                pass

    def _read(self) -> None:
        try:
            data = os.read(self.descriptor, 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.stop_listening()
            return
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            if line in (b"in", b"out"):
                self.logged_in = line == b"in"
        self._pending = self._pending[-64:]


def keeps_after_drop(grace: float, state: SessionState) -> bool:
    """Whether a dropped link keeps the app: only with a grace, and only while someone is logged in (a login
    screen holds no work to lose)."""
    return grace > 0 and state.logged_in


def discard_output(master: int) -> None:
    """Read and drop what the app writes while no station watches (it must never block on its terminal)."""
    try:
        os.read(master, 65536)
    except OSError:
        asyncio.get_running_loop().remove_reader(master)


class KeptApp:
    """An app kept after its link dropped: its output read and dropped, and `expire` called after the grace."""

    def __init__(self, master: int, grace: float, expire: Callable[[], Awaitable[None]]):
        loop = asyncio.get_running_loop()
        self.master = master
        self.since = time.time()
        loop.add_reader(master, discard_output, master)
        self._timer: asyncio.TimerHandle | None = loop.call_later(grace, lambda: asyncio.ensure_future(expire()))

    def release(self) -> None:
        """Stop dropping the output and stop the timer: the app is resumed or being ended."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            asyncio.get_running_loop().remove_reader(self.master)
        except (ValueError, OSError):
            pass


async def repaint(master: int, width: int, height: int) -> None:
    """Make the app paint its whole screen again for a new terminal: a resize does (the kernel sends it
    SIGWINCH); the same size twice would not, so the window is nudged one row and back."""
    from stron_tui.ssh.station import set_window

    try:
        set_window(master, width, height - 1 if height > 1 else height + 1)
        await asyncio.sleep(0.15)
        set_window(master, width, height)
    except OSError:
        pass


def resume_offer(since: float, zone: tzinfo, remote: str = "") -> bytes:
    """The screen that offers a suspended session (on a raw terminal: CR LF line ends)."""
    minutes = max(1, round((time.time() - since) / 60))
    at = datetime.fromtimestamp(since, timezone.utc).astimezone(zone).strftime("%H:%M")
    origin = f" from {remote}" if remote else ""
    return (f"\x1b[H\x1b[2J\r\nYour session{origin} was cut off at {at} ({minutes} min ago) and is still open."
            f"\r\n\r\n  Enter  resume it, on the screen you left\r\n  N      start a new session "
            f"(the other one ends)\r\n").encode()


def offer_answer(data: bytes) -> str | None:
    """"resume", "new", or None (a key that answers nothing)."""
    if data[:1] in (b"\r", b"\n", b"y", b"Y"):
        return "resume"
    if data[:1] in (b"n", b"N"):
        return "new"
    return None


def offer_wait(login_grace: float) -> float:
    """Seconds the offer waits for an answer; then it resumes (the session they had is what they most likely
    want)."""
    return login_grace * 4


@dataclass
class Suspended:
    user_id: int
    user_code: str
    station: str
    remote: str
    child: object  # the app's process (asyncio subprocess or prefork.ForkedSession)
    master: int  # the pty's server end
    descriptors: object  # station.Descriptors: closed when the session finally ends
    low_bandwidth: bool
    state: SessionState  # whether someone is logged in
    status_key: int
    kept: KeptApp | None = None

    @property
    def key(self) -> tuple[int, str]:
        return (self.user_id, self.station)

    @property
    def since(self) -> float:
        return self.kept.since if self.kept is not None else time.time()


class SuspendedSessions:
    """The server's suspended sessions, one per user and station."""

    def __init__(self, hub, grace: float):
        self._hub = hub
        self.grace = grace
        self._by_key: dict[tuple[int, str], Suspended] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def get(self, user_id: int, station: str) -> Suspended | None:
        return self._by_key.get((user_id, station))

    def keep(self, suspended: Suspended) -> None:
        """Keep a session whose link dropped, for the grace period."""
        older = self._by_key.pop(suspended.key, None)
        if older is not None:
            log.info("suspended session of %s at %s replaced by a newer one: ended", older.user_code,
                     older.station or "-")
            asyncio.ensure_future(self._end(older))
        self._by_key[suspended.key] = suspended
        suspended.kept = KeptApp(suspended.master, self.grace, lambda: self.expire(suspended))
        self._hub.status.changed(suspended.status_key, suspended=True)
        log.info("link of %s from %s dropped: session kept for %.0f s", suspended.user_code, suspended.remote,
                 self.grace)

    def take(self, suspended: Suspended) -> Suspended | None:
        """Hand a suspended session to a new link; None if it ended meanwhile."""
        if self._by_key.get(suspended.key) is not suspended:
            return None
        del self._by_key[suspended.key]
        self._release(suspended)
        self._hub.status.closed(suspended.status_key)
        return suspended

    async def expire(self, suspended: Suspended) -> None:
        if self._by_key.get(suspended.key) is suspended:
            del self._by_key[suspended.key]
            log.info("suspended session of %s not resumed within %.0f s: ended", suspended.user_code, self.grace)
            await self._end(suspended)

    async def end(self, suspended: Suspended) -> None:
        """End a suspended session its user chose not to resume."""
        if self._by_key.get(suspended.key) is suspended:
            del self._by_key[suspended.key]
            await self._end(suspended)

    def _release(self, suspended: Suspended) -> None:
        if suspended.kept is not None:
            suspended.kept.release()
            suspended.kept = None

    async def _end(self, suspended: Suspended) -> None:
        from stron_tui.ssh.station import end_child

        self._release(suspended)
        try:
            await end_child(suspended.child, self._hub.options.hangup_grace)
        finally:
            self._hub.children.discard(suspended.child.pid)
            suspended.descriptors.close_all()
            self._hub.status.closed(suspended.status_key)

    async def end_all(self) -> None:
        await asyncio.gather(*(self.end(suspended) for suspended in list(self._by_key.values())))
