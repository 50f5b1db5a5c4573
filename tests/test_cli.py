"""The stron-tui command: scripted set-up, and one clear sentence with exit code 1 on bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run_cli(*args, env_extra=None, tmp_path=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRON_")}
    env["STRON_DATA_DIR"] = str(tmp_path / "data")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "stron_tui", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_init_sets_the_admin_password_from_a_file_then_login_works(tmp_path):
    password_file = tmp_path / "admin.pw"
    password_file.write_text("Correct-Horse-9\n")
    result = run_cli("init", "--admin-password-file", str(password_file), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "log in as Admin" in result.stdout
    key_file = tmp_path / "data" / "master.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"

    from stron_tui.services import auth
    from stron_tui.services.context import open_context
    from stron_tui.settings import load_settings

    ctx = open_context(load_settings({"STRON_DATA_DIR": str(tmp_path / "data")}))
    try:
        actor = auth.authenticate(ctx, "admin", "Correct-Horse-9")
        assert actor.builtin_admin and actor.user_code == "Admin"
    finally:
        ctx.close()
    again = run_cli("init", env_extra={"STRON_ADMIN_PASSWORD": "Another-Pass-1"}, tmp_path=tmp_path)
    assert again.returncode == 0 and "already set" in again.stdout


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("db", "current"), {"STRON_DATABASE_URL": "oracle://scott@db/x"}, "Unknown database URL scheme 'oracle'"),
        (("db", "current"), {"STRON_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:9/x"},
         "Cannot reach the database at postgresql+psycopg://u@127.0.0.1:9/x"),
        (("init",), {}, "Give the Admin password with --admin-password-file FILE or STRON_ADMIN_PASSWORD."),
        (("init", "--admin-password-file", "/nonexistent/pw"), {}, "Cannot read the password file"),
        (("demo",), {"STRON_DATA_DIR": "/proc/stron"}, "Cannot create the data directory /proc/stron"),
        (("init",), {"STRON_ADMIN_PASSWORD": "123456"}, "can't be the temporary password 123456"),
    ],
)
def test_bad_input_is_one_sentence_and_nonzero(tmp_path, args, env, message):
    result = run_cli(*args, env_extra=env, tmp_path=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_unwritable_data_directory_is_refused(tmp_path):
    if os.geteuid() == 0:
        target = "/proc/stron-data"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        target = str(locked / "data")
    result = run_cli("db", "upgrade", env_extra={"STRON_DATA_DIR": target}, tmp_path=tmp_path)
    assert result.returncode == 1
    assert "Cannot create the data directory" in result.stderr


def test_wrong_master_key_stops_the_app_before_anything_is_written(tmp_path):
    password_file = tmp_path / "admin.pw"
    password_file.write_text("Correct-Horse-9\n")
    assert run_cli("init", "--admin-password-file", str(password_file), tmp_path=tmp_path).returncode == 0
    wrong = tmp_path / "wrong.key"
    wrong.write_text("cd" * 32)
    wrong.chmod(0o600)
    result = run_cli("demo", env_extra={"STRON_MASTER_KEY_FILE": str(wrong)}, tmp_path=tmp_path)
    assert result.returncode == 1
    assert "does not belong to this database" in result.stderr


def test_help_works_everywhere(tmp_path):
    for args in ((), ("db",), ("db", "upgrade"), ("init",), ("demo",)):
        result = run_cli(*args, "--help", tmp_path=tmp_path)
        assert result.returncode == 0 and "usage: stron-tui" in result.stdout


def test_user_unlock_lifts_every_block_and_is_audited(tmp_path):
    from sqlalchemy import select

    from stron_tui.db.models import AuditEntry
    from stron_tui.errors import AccountLocked, AuthenticationFailed
    from stron_tui.services import auth
    from stron_tui.services.context import open_context
    from stron_tui.settings import load_settings

    assert run_cli("init", env_extra={"STRON_ADMIN_PASSWORD": "Correct-Horse-9"}, tmp_path=tmp_path).returncode == 0
    ctx = open_context(load_settings({"STRON_DATA_DIR": str(tmp_path / "data")}))
    try:
        for _ in range(5):
            with pytest.raises(AuthenticationFailed):
                auth.authenticate(ctx, "Admin", "guess", source="ssh", remote="203.0.113.5")
        with pytest.raises(AccountLocked):
            auth.authenticate(ctx, "Admin", "Correct-Horse-9", source="ssh", remote="203.0.113.5")
        result = run_cli("user", "unlock", "admin", tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "User Admin is unlocked" in result.stdout
        assert auth.authenticate(ctx, "Admin", "Correct-Horse-9", source="ssh", remote="203.0.113.5")
        with ctx.db.read_session() as session:
            unlock = session.scalar(select(AuditEntry).where(AuditEntry.action == "user.unlock"))
        assert (unlock.source, unlock.user_code, unlock.summary) == ("cli", "system", "unlocked user Admin")
    finally:
        ctx.close()
    missing = run_cli("user", "unlock", "ghost", tmp_path=tmp_path)
    assert missing.returncode == 1 and missing.stderr.strip() == "stron-tui: There is no user 'ghost'."
    again = run_cli("user", "unlock", "admin", tmp_path=tmp_path)
    assert again.returncode == 1 and "User Admin is not locked." in again.stderr
