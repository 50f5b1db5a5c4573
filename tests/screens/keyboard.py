"""The one way tests drive screens with the Pilot: settle, fill a field, type text.

`settle` replaces fixed sleeps: it waits for exactly what the screen is waiting on (a
type-ahead's short debounce timer, thread workers, the repaint after them, the keys typed
after Enter that wait for its answer), however
busy the machine is, and no longer.
"""

from __future__ import annotations

import asyncio

from textual.widgets import Input
from textual.worker import WorkerState

SHORT_TIMER = 2.0  # seconds: one-shot timers up to this long are debounces to wait for (the idle lock is not)


def _pending_debounces(app) -> list[asyncio.Task]:
    tasks = []
    for node in app.screen.walk_children(with_self=True):
        for timer in list(node._timers):
            task = timer._task
            if task is not None and not task.done() and timer._repeat == 0 and timer._interval <= SHORT_TIMER:
                tasks.append(task)
    return tasks


async def settle(app, pilot, *, timeout: float = 10.0) -> None:
    """Let the screen react, its debounce timers fire, the thread workers finish, and the screen show their
    results; repeated while any of them starts more work."""
    for _round in range(100):
        await pilot.pause()
        debounces = _pending_debounces(app)
        if debounces:
            await asyncio.wait(debounces, timeout=timeout)
        # A worker just started is PENDING until its task first runs (on a loaded machine, a while): it is
        # work to wait for all the same, or the screen is pictured before its data arrives.
        unfinished = [worker for worker in app.workers if not worker.is_finished]
        running = [worker for worker in unfinished if worker.state == WorkerState.RUNNING]
        if running:
            await app.workers.wait_for_complete(running)
        elif unfinished:
            await asyncio.sleep(0.01)
        busy = bool(unfinished)
        # Keys typed after Enter are replayed once its answer has been shown: they may start more work.
        holding = getattr(app.screen, "holding_keys", False)
        if not debounces and not busy and not holding:
            break
    await pilot.pause()


async def enter(pilot, widget_id: str, text: str) -> None:
    """Fill a field as if typed and press Enter (typing every key is slow and tested elsewhere)."""
    field = pilot.app.screen.query_one(f"#{widget_id}", Input)
    field.focus()
    field.value = text
    await pilot.press("enter")


async def type_text(pilot, text: str) -> None:
    """Type into the focused field key by key, as a cashier would; text beyond ASCII arrives as a paste would."""
    if text.isascii():
        await pilot.press(*[{" ": "space"}.get(character, character) for character in text])
    else:
        pilot.app.focused.insert_text_at_cursor(text)
        await pilot.pause()


async def fill(app, pilot, values: dict[str, str]) -> None:
    """Fill form inputs (`#input-<name>`): clear each, then type its new value."""
    for name, value in values.items():
        field = app.screen.query_one(f"#input-{name}", Input)
        field.focus()
        field.value = ""
        await pilot.pause()
        await type_text(pilot, value)


async def burst(pilot, *keys: str) -> None:
    """Keys arriving in one read, as over a slow SSH link: all queued before the app handles the first
    (`pilot.press` lets the app go idle after each key). Single characters are typed; names ("enter") are keys."""
    from textual import events

    for key in keys:
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))
    await pilot.pause()
