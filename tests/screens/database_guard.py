"""A guard for screen tests: no SQL statement may run on the thread that runs the Textual event loop.

A statement there freezes every key and repaint until the database answers (seconds over a slow
link or a locked SQLite file). Screens call services through `screens.calls.call_service`, which
runs them in a thread worker; this guard finds any call that slipped past it.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import traceback
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
# Code that runs as part of the app: a statement reached through it is the app's, not the test's own
# set-up or check (a test body also runs on the loop's thread, and may read the database to assert).
APP_CODE = tuple(str(ROOT / part) for part in ("screens", "widgets", "stron_tui/app.py"))
TEXTUAL_CODE = str(Path(sys.modules["textual"].__file__).parent) if "textual" in sys.modules else "/textual/"


def _on_event_loop_thread() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _reached_from_the_app() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(APP_CODE) or "/textual/" in filename:
            return True
        frame = frame.f_back
    return False


@pytest.fixture(autouse=True)
def no_database_on_the_event_loop():
    """Fails the test when a statement runs on the event loop's thread from the app's own code."""
    offences: list[str] = []

    def check(conn, cursor, statement, parameters, context, executemany):
        if _on_event_loop_thread() and _reached_from_the_app():
            ours = [frame for frame in traceback.extract_stack()[:-1]
                    if frame.filename.startswith(str(ROOT)) and "/.venv/" not in frame.filename]
            where = "".join(traceback.format_list(ours[-8:]))
            offences.append(f"{statement.split()[0]} on {threading.current_thread().name}:\n{where}")
            raise AssertionError(f"SQL on the event loop thread: {statement[:80]!r}")

    event.listen(Engine, "before_cursor_execute", check)
    try:
        yield offences
    finally:
        event.remove(Engine, "before_cursor_execute", check)
    assert not offences, "SQL ran on the event loop thread:\n" + "\n".join(offences[:3])
