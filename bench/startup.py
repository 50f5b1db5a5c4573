"""Start-up: process start to the login screen being ready, and the import time of stron_tui.

Runs `python -m stron_tui` on a pseudo-terminal (80x24) and times until the
login screen has been drawn, median of N runs. Target: under 700 ms.

    python bench/startup.py [--quick] [--database URL] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import print_results  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 700.0
READY_TEXT = b"Password"


def prepare(database_url: str | None, data_dir: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRON_")}
    env.update(STRON_DATA_DIR=str(data_dir), TERM="xterm-256color", STRON_ADMIN_PASSWORD="Bench-Start-1")
    if database_url:
        env["STRON_DATABASE_URL"] = database_url
    subprocess.run([sys.executable, "-m", "stron_tui", "init"], env=env, check=True, capture_output=True,
                   cwd=ROOT)
    env.pop("STRON_ADMIN_PASSWORD")
    return env


def time_to_login(env: dict) -> float:
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, "-m", "stron_tui"], env)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
    elapsed = float("nan")
    deadline = start + 20
    try:
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            # Answer the terminal's queries so the app does not wait for a reply.
            if b"\x1b[c" in chunk or b"\x1b[>c" in chunk:
                os.write(fd, b"\x1b[?62;22c")
            seen += chunk
            if READY_TEXT in re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", seen):
                elapsed = (time.perf_counter() - start) * 1000
                break
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    return elapsed


def import_time_ms() -> float:
    code = "import time; t = time.perf_counter(); import stron_tui.app; print((time.perf_counter() - t) * 1000)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                                 check=True).stdout) for _ in range(3)]
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs instead of 5")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    with tempfile.TemporaryDirectory() as directory:
        env = prepare(args.database, Path(directory))
        time_to_login(env)  # warm the OS file cache once, as on a server that is in use
        samples = [time_to_login(env) for _ in range(runs)]
    login_ms = statistics.median(samples)
    imports_ms = import_time_ms()
    rows = [
        ("process start to login screen (median)", f"{runs} runs", f"{login_ms:.0f} ms", f"< {TARGET_MS:.0f} ms",
         login_ms < TARGET_MS),
        ("import stron_tui.app", "3 runs", f"{imports_ms:.0f} ms", f"< {TARGET_MS:.0f} ms", imports_ms < TARGET_MS),
    ]
    print("samples (ms): " + ", ".join(f"{sample:.0f}" for sample in samples))
    print_results(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
