"""The session's input thread sleeps while its station does: no wake-ups without a key, and keys (a lone
Esc too, which is told from an escape sequence by a timeout) still arrive at once."""

from __future__ import annotations

import asyncio
import os

from tests.ssh.conftest import Terminal


def wake_ups(pid: int) -> int:
    """How many times the session's threads have gone to sleep and woken, all told."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("voluntary_ctxt_switches:"))
        except FileNotFoundError:  # a worker thread that has just ended
            pass
    return total


async def test_an_idle_session_does_not_wake_and_keys_still_arrive(station, ctx):
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
        (pid,) = station.hub.children
        await asyncio.sleep(0.5)
        before = wake_ups(pid)
        await asyncio.sleep(3)
        # Textual's own driver looks for input ten times a second: 30 wake-ups here.
        assert wake_ups(pid) - before <= 3
        mark = terminal.mark()
        await terminal.press("f2")
        await terminal.wait_for(r"Find a meter to begin", since=mark)
        mark = terminal.mark()
        await terminal.press("escape")  # a lone Esc: given up waiting for a sequence after a moment
        await terminal.wait_for(r"Main menu", since=mark)
        mark = terminal.mark()
        await terminal.press("f10")
        await terminal.wait_for(r"Logged out", since=mark)
