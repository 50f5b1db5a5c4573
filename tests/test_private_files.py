"""Files with customer data or secrets are private: created 0600/0700 whatever the caller's umask, and a
database or host key that other users can read is refused at start, as the master key file is."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from stron_tui.db.engine import Database
from stron_tui.errors import ConfigurationError
from stron_tui.services.context import open_context
from stron_tui.settings import load_settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_command_makes_every_file_and_directory_private_under_a_loose_umask(tmp_path):
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRON_")}
    env.update(STRON_DATA_DIR=str(data), STRON_ADMIN_PASSWORD="Correct-Horse-9")
    result = subprocess.run([sys.executable, "-c", "import os, sys; os.umask(0o022); from stron_tui.cli import main; "
                             "sys.exit(main(['init']))"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    database = data / "stron.sqlite3"
    assert database.exists() and (data / "master.key").exists()
    made = [data, *data.rglob("*")]
    assert [(str(path), oct(_mode(path))) for path in made if _mode(path) & 0o077] == []


def test_a_new_database_is_private_even_without_the_command(tmp_path):
    previous = os.umask(0o022)
    try:
        db = Database(f"sqlite:///{tmp_path / 'new.sqlite3'}")
        with db.session() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
        files = [tmp_path / "new.sqlite3", tmp_path / "new.sqlite3-wal", tmp_path / "new.sqlite3-shm"]
        assert all(path.exists() for path in files)
        assert {path.name: oct(_mode(path)) for path in files} == {path.name: "0o600" for path in files}
        db.dispose()
    finally:
        os.umask(previous)


@pytest.mark.parametrize("suffix", ["", "-wal"])
def test_a_database_other_users_can_read_is_refused_at_start(tmp_path, suffix):
    data = tmp_path / "data"
    settings = load_settings({"STRON_DATA_DIR": str(data)})
    open_context(settings).close()
    target = Path(f"{data / 'stron.sqlite3'}{suffix}")
    target.touch(mode=0o600)
    target.chmod(0o640)
    with pytest.raises(ConfigurationError, match=r"can be read by other users \(mode 0640\).*chmod 600"):
        open_context(settings)
    assert _mode(target) == 0o640  # refused, not quietly changed
    target.chmod(0o600)
    open_context(settings).close()


def test_a_host_key_other_users_can_read_is_refused(test_settings):
    from stron_tui.ssh.keys import host_key_directory, load_or_create_host_keys

    load_or_create_host_keys(test_settings)
    key = host_key_directory(test_settings) / "ssh_host_ed25519_key"
    assert _mode(key) == 0o600 and _mode(key.parent) == 0o700
    key.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_or_create_host_keys(test_settings)


def test_exports_and_receipts_are_private_even_under_a_loose_umask(ctx, admin):
    from stron_tui.exports.receipts import save_receipt
    from stron_tui.services import excel_io, management
    from stron_tui.services.management import ManagementRequest
    from stron_tui.services.vending import new_request_id
    from tests.factories import add_meter, build_world

    previous = os.umask(0o022)
    try:
        meter = add_meter(build_world(ctx), "4900000001")
        receipt = management.issue(ctx, admin, ManagementRequest(meter, "clear_tamper", new_request_id(), "seal"), payment_password="AdminPass1")
        written = [excel_io.export_library(ctx, admin, "customers").path,
                   *save_receipt(ctx.settings, receipt, user_id=admin.user_id)]
    finally:
        os.umask(previous)
    assert {path.name: oct(_mode(path)) for path in written} == {path.name: "0o600" for path in written}
    assert {oct(_mode(path.parent)) for path in written} == {"0o700"}
