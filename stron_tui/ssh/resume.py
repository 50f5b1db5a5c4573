"""Sessions that outlive a dropped link: kept for a grace period, then offered to the same user again.

When a station's link drops (not when the app ends or the station idles out), its app process stays
alive, on its own terminal, for `ssh_resume_minutes` (default 10): its screen, what was typed, and a sale
in flight carry on without a station watching (the sale commits or not; the app's idle lock still comes
when it is due). The same user logging in again from the same sales station (password or key) is
offered it, and gets the same screen back, repainted. A user holds at most one suspended session per
station: a second one dropping ends the first. After the grace the app is hung up as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

log = logging.getLogger("stron_tui.ssh")

# What the app's terminal driver set up on the old station's terminal, set again on the new one before the
# repaint: the alternate screen, no cursor, bracketed paste; then a clear screen for the repaint to fill.
RESUME_PREAMBLE = b"\x1b[?1049h\x1b[?25l\x1b[?2004h\x1b[H\x1b[2J"


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
    state: object  # station.SessionState: whether someone is logged in
    status_key: int
    since: float = field(default_factory=time.time)
    timer: asyncio.TimerHandle | None = None

    @property
    def key(self) -> tuple[int, str]:
        return (self.user_id, self.station)


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
        from stron_tui.ssh.station import discard_output

        loop = asyncio.get_running_loop()
        older = self._by_key.pop(suspended.key, None)
        if older is not None:
            log.info("suspended session of %s at %s replaced by a newer one: ended", older.user_code,
                     older.station or "-")
            asyncio.ensure_future(self._end(older))
        self._by_key[suspended.key] = suspended
        loop.add_reader(suspended.master, discard_output, suspended.master)  # the app never blocks on output
        suspended.timer = loop.call_later(self.grace, lambda: asyncio.ensure_future(self.expire(suspended)))
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
        if suspended.timer is not None:
            suspended.timer.cancel()
            suspended.timer = None
        try:
            asyncio.get_running_loop().remove_reader(suspended.master)
        except (ValueError, OSError):
            pass

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
