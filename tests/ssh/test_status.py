"""`stron-tui status`: the SSH server's sessions (user, station, address, idle time, suspended)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from sqlalchemy import update

from stron_tui.db.models import User
from stron_tui.ssh.status import read_servers
from tests.factories import build_world
from tests.ssh.conftest import Terminal


def run_status(settings) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRON_")}
    env["STRON_DATA_DIR"] = str(settings.data_dir)
    env["STRON_DATABASE_URL"] = settings.database_url
    return subprocess.run([sys.executable, "-m", "stron_tui", "status"], env=env, capture_output=True,
                          text=True, timeout=120)


async def _until(condition, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


async def test_restore_is_refused_while_a_station_is_logged_in_and_names_it(station, ctx, tmp_path):
    import pytest

    from stron_tui.db.backup import BackupError, backup, restore
    from stron_tui.ssh.status import open_sessions_sentence

    if ctx.db.backend != "sqlite":
        pytest.skip("backup and restore are for the embedded SQLite database")
    made = await asyncio.to_thread(backup, ctx.settings, tmp_path / "b.tar")
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
        with pytest.raises(BackupError, match=rf"is open \(serve-ssh pid {os.getpid()} is running with 1 "
                                              r"sessions: Admin\); stop serve-ssh"):
            await asyncio.to_thread(restore, ctx.settings, made.path,
                                    sessions_open=lambda: open_sessions_sentence(ctx.settings))


async def test_status_lists_each_session_with_its_station_and_address(station, ctx):
    world = build_world(ctx)
    with ctx.db.session() as session:
        session.execute(update(User).where(User.user_code == "Admin").values(station_id=world.station_id))
    settings = ctx.settings
    async with await station.connect(source="127.0.0.7") as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
        await terminal.type("x")
        servers = await asyncio.to_thread(read_servers, settings)
        assert [len(server.sessions) for server in servers] == [1]
        session = servers[0].sessions[0]
        assert (session.user, session.station, session.address, session.suspended) == \
            ("Admin", world.station_code, "127.0.0.7", False)
        assert session.pid in station.hub.children
        shown = await asyncio.to_thread(run_status, settings)
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert lines[0].startswith(f"serve-ssh pid {os.getpid()} on 127.0.0.1:{station.port}")
        assert "1 sessions (0 suspended)" in lines[0]
        assert lines[2].split() == ["Admin", world.station_code, "127.0.0.7", lines[2].split()[3], "attached"]
        assert lines[2].split()[3].endswith("s")
        path = station.hub.status.path
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    await _until(lambda: not json.loads(path.read_text())["sessions"])
    shown = await asyncio.to_thread(run_status, settings)
    assert "0 sessions" in shown.stdout and "Admin" not in shown.stdout


def test_a_stopped_server_is_not_listed(test_settings):
    run = test_settings.data_dir / "run"
    run.mkdir()
    stale = run / "ssh-999999999.json"
    stale.write_text(json.dumps({"pid": 999999999, "listen": "0.0.0.0:2222", "started_at": 0, "sessions": [],
                                 "updated_at": 0}))
    assert read_servers(test_settings) == [] and not stale.exists()
    assert run_status(test_settings).stdout.strip() == "No SSH server is running on this data directory."
