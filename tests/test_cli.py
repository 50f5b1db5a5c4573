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
    for args in ((), ("db",), ("db", "upgrade"), ("init",), ("demo",), ("config",)):
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


def test_config_shows_each_setting_with_its_source_and_masks_secrets(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    config = data / "stron.toml"
    config.write_text('utility_name = "Lagos Power"\nlockout_attempts = 3\n[keymap]\n"topup.reprint" = "f8,ctrl+r"\n')
    env = {"STRON_DATABASE_URL": "postgresql+psycopg://vend:db-secret@db.example/stron",
           "STRON_SMTP_PASSWORD": "mail-secret", "STRON_LOCKOUT_ATTEMPTS": "7", "STRON_MASTER_KEY": "ab" * 32}
    result = run_cli("config", env_extra=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    for secret in ("db-secret", "mail-secret", "ab" * 32):
        assert secret not in result.stdout
    rows = {line.split()[0]: line.split(None, 1)[1] for line in result.stdout.splitlines()[1:]}
    assert result.stdout.splitlines()[0] == f"Config file: {config}"
    assert rows["database_url"].split() == ["postgresql+psycopg://vend:***@db.example/stron", "env",
                                            "STRON_DATABASE_URL"]
    assert rows["smtp_password"].split() == ["***", "env", "STRON_SMTP_PASSWORD"]
    assert rows["master_key"].split() == ["***", "env", "STRON_MASTER_KEY"]
    assert rows["lockout_attempts"].split() == ["7", "env", "STRON_LOCKOUT_ATTEMPTS"]
    assert rows["utility_name"].split() == ["Lagos", "Power", "file", str(config)]
    assert rows["keymap.topup.reprint"].split() == ["f8,ctrl+r", "file", str(config)]
    assert rows["lockout_minutes"].split() == ["15", "default"]
    assert rows["reversal_window_days"].split() == ["0", "default"]

    import json

    shown = json.loads(run_cli("config", "--json", env_extra=env, tmp_path=tmp_path).stdout)
    assert shown["config_file"] == str(config)
    by_name = {row["name"]: row for row in shown["settings"]}
    assert by_name["smtp_password"] == {"name": "smtp_password", "value": "***", "source": "env STRON_SMTP_PASSWORD",
                                        "variable": "STRON_SMTP_PASSWORD"}
    assert by_name["sms_gateway_authorization"]["value"] == ""  # not set: nothing to hide
    assert by_name["shift_required"]["value"] == "true" and by_name["shift_required"]["source"] == "default"

    config.unlink()
    plain = run_cli("config", tmp_path=tmp_path).stdout.splitlines()
    assert plain[0] == f"Config file: none ({config} does not exist)"
    assert "keymap" in [line.split()[0] for line in plain[1:]]  # every setting is listed, set or not


def test_a_bad_setting_stops_the_app_with_the_setting_and_its_source(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "stron.toml").write_text("ssh_max_sessions = 0\n")
    for args in (("config",), ("db", "current"), ()):
        result = run_cli(*args, tmp_path=tmp_path)
        assert result.returncode == 1
        assert result.stderr.strip() == (f"stron-tui: Setting ssh_max_sessions must be at least 1, not 0 "
                                          f"(file {data / 'stron.toml'}).")
    result = run_cli("config", env_extra={"STRON_IDLE_LOCK_MINUTES": "soon"}, tmp_path=tmp_path)
    assert "Setting idle_lock_minutes must be a whole number, not 'soon' (env STRON_IDLE_LOCK_MINUTES)." \
        in result.stderr


def test_a_master_key_in_the_environment_replaces_the_key_file(tmp_path):
    key = {"STRON_MASTER_KEY": "ab" * 32, "STRON_ADMIN_PASSWORD": "Correct-Horse-9"}
    assert run_cli("init", env_extra=key, tmp_path=tmp_path).returncode == 0
    assert not (tmp_path / "data" / "master.key").exists()  # the key came from the variable: no file made
    wrong = run_cli("demo", env_extra={**key, "STRON_MASTER_KEY": "cd" * 32}, tmp_path=tmp_path)
    assert wrong.returncode == 1
    assert "The master key in STRON_MASTER_KEY does not belong to this database" in wrong.stderr
