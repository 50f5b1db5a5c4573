"""The OpenSSH ForceCommand wrapper: a terminal or nothing, no client commands, low bandwidth on, and the
documented set-up (settings and master key 0600, owned by the service account, reached through sudo)."""

from __future__ import annotations

import getpass
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

WRAPPER = Path(__file__).resolve().parents[2] / "scripts" / "stron-tui-forcecommand"
STRON_TUI = Path(sys.executable).with_name("stron-tui")


# A stand-in for stron-tui that shows what it was given: its arguments, then its environment.
SHOW = Path(__file__).resolve().parent / "show_arguments_and_environment.sh"


def _environment(**extra) -> dict[str, str]:
    # Run as the service account itself (no sudo); SHOW as the app shows what the app gets.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "STRON_TUI": str(SHOW),
           "STRON_SERVICE_USER": getpass.getuser(), "STRON_ENVIRONMENT_FILE": "/nonexistent"}
    env.update(extra)
    return env


def test_the_wrapper_refuses_to_run_without_a_terminal():
    result = subprocess.run([str(WRAPPER)], env=_environment(), stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=10)
    assert result.returncode == 1 and "needs a terminal" in result.stderr


def test_the_wrapper_refuses_a_command_from_the_client():
    result = subprocess.run([str(WRAPPER)], env=_environment(SSH_ORIGINAL_COMMAND="cat /etc/passwd"),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
    assert result.returncode == 1 and "without a command" in result.stderr and "root:" not in result.stdout


def _run_on_a_terminal(env: dict[str, str], args=(), until: str | None = None, timeout: float = 30.0) -> str:
    """Run the wrapper on a pty; read until it ends, or until `until` shows (then it is killed)."""
    pid, master = pty.fork()
    if pid == 0:
        os.execve(str(WRAPPER), [str(WRAPPER), *args], env)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if until and re.search(until, _plain(output)):
                break
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(master)
    return _plain(output) if until else output.decode()


def _plain(output: bytes) -> str:
    text = re.sub(rb"\x1b\[[0-9;?<>=$]*[A-Za-z~]|\x1b\][^\x07]*\x07", b" ", output).decode("utf-8", "replace")
    return re.sub(r"\s+", " ", text)


def test_on_a_terminal_the_app_starts_in_low_bandwidth_mode_unless_the_client_turns_it_off():
    shown = _run_on_a_terminal(_environment())
    # Run as the service account itself (stations sharing it): the app itself, no station-attach.
    assert "[station-attach]" not in shown
    assert "STRON_SOURCE=ssh" in shown and "STRON_LOW_BANDWIDTH=1" in shown
    assert "TEXTUAL_ANIMATIONS=none" in shown and "TEXTUAL_SMOOTH_SCROLL=0" in shown
    full = _run_on_a_terminal(_environment(STRON_LOW_BANDWIDTH="0"))
    assert "STRON_LOW_BANDWIDTH=0" in full and "TEXTUAL_ANIMATIONS" not in full


def test_a_station_account_reaches_the_service_account_through_sudo_with_only_its_display_choices(tmp_path):
    # sudo itself is the host's; this stand-in shows what the wrapper asks of it.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sudo").write_text('#!/bin/sh\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\n')
    (fake / "sudo").chmod(0o755)
    env = _environment(PATH=f"{fake}:/usr/bin:/bin", STRON_SERVICE_USER="stron-service-account",
                       STRON_LOW_BANDWIDTH="0", LANG="de_DE.UTF-8", STRON_DATABASE_URL="postgresql://x")
    shown = _run_on_a_terminal(env)
    assert "[-n]\r\n[-u]\r\n[stron-service-account]\r\n[--]\r\n" in shown
    assert f"[{WRAPPER}]\r\n[--station]\r\n[0]\r\n[]\r\n[de_DE.UTF-8]" in shown
    assert "postgresql" not in shown  # nothing else crosses


def test_the_station_account_is_the_one_sudo_came_from_and_only_a_plain_name():
    shown = _run_on_a_terminal(_environment(SUDO_USER="station7"), args=("--station", "", "", "", "", ""))
    assert "[station-attach]\r\n[--]\r\n[station7]\r\n" in shown
    for name in ("../admin", "-h", "st 7", "st7;id", ".hidden"):
        refused = _run_on_a_terminal(_environment(SUDO_USER=name), args=("--station", "", "", "", "", ""))
        assert "letters, digits and ._-" in refused and "station-attach" not in refused, name


def test_the_service_accounts_half_checks_what_the_station_sent():
    shown = _run_on_a_terminal(_environment(), args=("--station", "0", "$(id)", "C.UTF-8\x1b[2J", "", "x;y"))
    assert "STRON_LOW_BANDWIDTH=0" in shown and "LANG=" not in shown and "STRON_ASCII" not in shown
    assert "LC_CTYPE" not in shown and "LC_ALL" not in shown


def _documented_setup(tmp_path, key_mode: int) -> dict[str, str]:
    """/etc/stron-tui/environment and the data directory as docs/ssh.md sets them up, in tmp_path."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    key = data / "master.key"
    key.write_text("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n")
    key.chmod(key_mode)
    settings = tmp_path / "environment"
    settings.write_text(f"STRON_DATA_DIR={data}\nSTRON_MASTER_KEY_FILE={key}\nSTRON_TUI={STRON_TUI}\n")
    settings.chmod(0o600)
    return _environment(STRON_TUI="", STRON_ENVIRONMENT_FILE=str(settings), TERM="xterm-256color",
                        HOME=str(tmp_path))


def test_the_documented_set_up_starts_the_app_with_a_0600_key_and_refuses_a_group_readable_one(tmp_path):
    first = tmp_path / "good"
    first.mkdir()
    shown = _run_on_a_terminal(_documented_setup(first, 0o600), until=r"choose the Admin password")
    assert "choose the Admin password" in shown
    second = tmp_path / "group-readable"
    second.mkdir()
    refused = _run_on_a_terminal(_documented_setup(second, 0o640), until=r"chmod 600")
    assert "chmod 600" in refused  # the app says how to put it right
