"""`stron-tui api-account` and `stron-tui serve-api` as an installer's script would use them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx


def _env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRON_")}
    env["STRON_DATA_DIR"] = str(tmp_path / "data")
    return env


def _cli(tmp_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stron_tui", *args], env=_env(tmp_path), capture_output=True,
                          text=True, timeout=60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_scripted_install_creates_a_key_once_and_the_served_api_accepts_it(tmp_path):
    created = _cli(tmp_path, "api-account", "create", "--name", "Bank Gateway", "--role", "OnlyVending")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("stron_") and len(key) > 50

    listed = _cli(tmp_path, "api-account", "list")
    assert "Bank Gateway" in listed.stdout and key not in listed.stdout
    assert key.split(".")[0] in listed.stdout  # the prefix identifies it
    duplicate = _cli(tmp_path, "api-account", "create", "--name", "bank gateway", "--role", "OnlyVending")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    bad_role = _cli(tmp_path, "api-account", "create", "--name", "Other", "--role", "Nobody")
    assert bad_role.returncode == 1 and "no role named" in bad_role.stderr

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "stron_tui", "serve-api", "--listen", f"127.0.0.1:{port}",
                               "--log-level", "warning"], env=_env(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {key}"})
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()
                time.sleep(0.2)
        assert response.status_code == 200 and response.json()["name"] == "Bank Gateway"
        rotated = _cli(tmp_path, "api-account", "rotate", "--name", "Bank Gateway")
        new_key = rotated.stdout.strip().splitlines()[-1]
        old = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {key}"})
        new = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {new_key}"})
        assert (old.status_code, new.status_code) == (401, 200)
        assert _cli(tmp_path, "api-account", "disable", "--name", "Bank Gateway").returncode == 0
        gone = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {new_key}"})
        assert gone.status_code == 401
    finally:
        server.terminate()
        server.wait(10)
