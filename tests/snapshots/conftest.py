"""Snapshots are pictures of screens: the same data, the same clock and no blinking cursor each run."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from stron_tui.domain import clock
from tokencore import token as token_module

FIXED_NOW = datetime(2026, 3, 2, 9, 30, 15, tzinfo=timezone.utc)


class _FixedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW if tz is not None else FIXED_NOW.replace(tzinfo=None)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    """Every time the app reads comes from domain.clock: fix it, so dates, TIDs and tokens repeat."""
    monkeypatch.setattr(clock, "datetime", _FixedDatetime)
    # A token carries 4 random bits (STS RND): fixed here, so the token digits repeat too.
    monkeypatch.setattr(token_module, "_rnd", lambda rnd: 7 if rnd is None else rnd)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture
def database_url(sqlite_template, tmp_path):
    path = tmp_path / "stron.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


from tests.screens.database_guard import no_database_on_the_event_loop  # noqa: E402,F401  (autouse)
