"""The OpenSSH ForceCommand wrapper: a terminal or nothing, no client commands, low bandwidth on."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

WRAPPER = Path(__file__).resolve().parents[2] / "scripts" / "stron-tui-forcecommand"


def _environment(**extra) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "STRON_TUI": "env"}  # `env` shows what the app gets
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


def _run_on_a_terminal(env: dict[str, str]) -> str:
    pid, master = pty.fork()
    if pid == 0:
        os.execve(str(WRAPPER), [str(WRAPPER)], env)
    output = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.waitpid(pid, 0)
    os.close(master)
    return output.decode()


def test_on_a_terminal_the_app_starts_in_low_bandwidth_mode_unless_the_client_turns_it_off():
    shown = _run_on_a_terminal(_environment())
    assert "STRON_SOURCE=ssh" in shown and "STRON_LOW_BANDWIDTH=1" in shown
    assert "TEXTUAL_ANIMATIONS=none" in shown and "TEXTUAL_SMOOTH_SCROLL=0" in shown
    full = _run_on_a_terminal(_environment(STRON_LOW_BANDWIDTH="0"))
    assert "STRON_LOW_BANDWIDTH=0" in full and "TEXTUAL_ANIMATIONS" not in full
