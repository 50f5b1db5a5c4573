"""Helpers for driving screens with the Pilot."""

from __future__ import annotations


async def settle(app, pilot):
    """Let the screen react, the thread workers finish, and the screen show their results."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
