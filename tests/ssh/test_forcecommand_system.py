"""The documented OpenSSH ForceCommand set-up, end to end on this machine: a real sshd, sudo, a service
account that owns the settings and the master key (0600), and a station account that logs in.

It changes the machine (two accounts, a group, a sudoers file, an sshd on a loopback port; all removed
afterwards), so it runs only when asked: as root, with OpenSSH's server and sudo installed, and
STRON_TEST_SYSTEM_SSH set to a stron-tui the service account can run (not one under /root), e.g.

    python3 -m venv /opt/stron-e2e && /opt/stron-e2e/bin/pip install .
    STRON_TEST_SYSTEM_SSH=/opt/stron-e2e/bin/stron-tui pytest tests/ssh/test_forcecommand_system.py
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import asyncssh
import pyte
import pytest

STRON_TUI = os.environ.get("STRON_TEST_SYSTEM_SSH", "")
WRAPPER = Path(__file__).resolve().parents[2] / "scripts" / "stron-tui-forcecommand"
SERVICE, STATION, GROUP = "stron-e2e-svc", "stron-e2e-st1", "stron-e2e-stations"
STATION_PASSWORD = "Station1Pass!"

pytestmark = pytest.mark.skipif(
    not STRON_TUI or os.geteuid() != 0 or not shutil.which("sshd", path="/usr/sbin:/usr/bin")
    or not shutil.which("sudo"),
    reason="needs root, sshd, sudo and STRON_TEST_SYSTEM_SSH (see the module's docstring)")


def _run(*command: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, input=input, capture_output=True, text=True, check=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def forcecommand_site():
    root = Path(tempfile.mkdtemp(prefix="stron-e2e-", dir="/tmp"))
    root.chmod(0o755)
    sudoers = Path(f"/etc/sudoers.d/{SERVICE}")
    sshd = None
    try:
        _run("groupadd", GROUP)
        _run("useradd", "--system", "--home-dir", str(root / "data"), "--shell", "/usr/sbin/nologin", SERVICE)
        _run("useradd", "--create-home", "--shell", "/bin/sh", "--groups", GROUP, STATION)
        _run("chpasswd", input=f"{STATION}:{STATION_PASSWORD}\n")
        # As docs/ssh.md, section 2: data directory 0700, settings 0600, both the service account's.
        data = root / "data"
        data.mkdir(mode=0o700)
        settings = root / "environment"
        settings.write_text(f"STRON_TUI={STRON_TUI}\nSTRON_DATA_DIR={data}\nSTRON_MASTER_KEY_FILE={data}/master.key\n")
        settings.chmod(0o600)
        _run("chown", "-R", f"{SERVICE}:{SERVICE}", str(data), str(settings))
        password_file = data / "admin-password"
        password_file.write_text("AdminPass1\n")
        password_file.chmod(0o600)
        _run("chown", "-R", f"{SERVICE}:{SERVICE}", str(data), str(settings))
        _run("sudo", "-u", SERVICE, "sh", "-c",
             f"set -a; . {settings}; {STRON_TUI} init --admin-password-file {password_file}")
        password_file.unlink()
        wrapper = root / "stron-tui-forcecommand"
        wrapper.write_text(WRAPPER.read_text().replace("/etc/stron-tui/environment", str(settings)))
        wrapper.chmod(0o755)
        sudoers.write_text(f"%{GROUP} ALL=({SERVICE}) NOPASSWD: {wrapper}\n")
        sudoers.chmod(0o440)
        _run("visudo", "-c", "-f", str(sudoers))
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "host_key"))
        port = _free_port()
        config = root / "sshd_config"
        config.write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {root}/host_key
PidFile {root}/sshd.pid
UsePAM yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
AcceptEnv LANG LC_* STRON_LOW_BANDWIDTH STRON_ASCII
Match Group {GROUP}
    ForceCommand {wrapper}
    SetEnv STRON_SERVICE_USER={SERVICE}
    PermitTTY yes
    AllowTcpForwarding no
    AllowStreamLocalForwarding no
    X11Forwarding no
    AllowAgentForwarding no
    PermitTunnel no
""")
        Path("/run/sshd").mkdir(exist_ok=True)
        sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", str(config), "-E", str(root / "sshd.log")])
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                subprocess.run(["sleep", "0.1"])
        yield port, data
    finally:
        if sshd is not None:
            sshd.terminate()
            sshd.wait(10)
        sudoers.unlink(missing_ok=True)
        for command in (("userdel", "-r", STATION), ("userdel", SERVICE), ("groupdel", GROUP)):
            subprocess.run(command, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


async def _screen_after_login(port: int) -> str:
    async with asyncssh.connect("127.0.0.1", port, username=STATION, password=STATION_PASSWORD, known_hosts=None,
                                agent_path=None, preferred_auth="password") as conn:
        refused = await conn.run("cat /etc/passwd", term_type=None)
        assert refused.exit_status == 1 and "without a command" in refused.stderr
        process = await conn.create_process(term_type="xterm-256color", term_size=(80, 24), encoding=None)
        screen = pyte.Screen(80, 24)
        stream = pyte.ByteStream(screen)
        typed = False
        for _ in range(600):
            try:
                stream.feed(await asyncio.wait_for(process.stdout.read(65536), 0.1))
            except asyncio.TimeoutError:
                pass
            text = "\n".join(screen.display)
            if "Main menu" in text:
                return text
            if process.stdout.at_eof():
                break
            if not typed and "Not logged in" in text:
                process.stdin.write(b"Admin\t")
                await asyncio.sleep(0.3)
                process.stdin.write(b"AdminPass1\r")
                typed = True
        return "\n".join(screen.display)


def test_the_documented_forcecommand_set_up_works_and_keeps_the_key_from_station_accounts(forcecommand_site):
    port, data = forcecommand_site
    screen = asyncio.run(_screen_after_login(port))
    assert "Main menu" in screen and "low bandwidth" in screen, screen
    key = data / "master.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    peek = subprocess.run(["sudo", "-u", STATION, "cat", str(key)], capture_output=True, text=True)
    assert peek.returncode != 0 and "Permission denied" in peek.stderr
    other = subprocess.run(["sudo", "-u", STATION, "sudo", "-n", "-u", SERVICE, "cat", str(key)],
                           capture_output=True, text=True)
    assert other.returncode != 0  # sudo lets a station account run the wrapper and nothing else
