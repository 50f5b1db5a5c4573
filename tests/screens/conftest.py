"""Screens run on SQLite only: the services beneath them are tested on every backend."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture
def database_url(sqlite_template, tmp_path):
    path = tmp_path / "stron.sqlite3"
    shutil.copyfile(sqlite_template, path)
    path.chmod(0o600)  # as the app creates it
    return f"sqlite:///{path}"



from tests.screens.database_guard import no_database_on_the_event_loop  # noqa: E402,F401  (autouse)
