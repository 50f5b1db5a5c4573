"""Files with customer data or secrets are readable by the service's own user only.

- The process starts with umask 077 (cli.main), so every file and directory it creates (database,
  its -wal and -shm, exports, host keys, anything a library writes) is private whatever the login
  shell's umask was.
- Directories the app makes are created 0700, and a new SQLite database file is created 0600 before
  SQLite opens it (SQLite gives -wal and -shm the database file's own mode), also when the app is
  used as a library without the command's umask.
- At start, a SQLite database (or its -wal / -shm) that other users can read or write is refused, as
  a master key file is: the fix is one chmod, and a silent fix could hide how it came to be shared.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from stron_tui.errors import ConfigurationError

PRIVATE_UMASK = 0o077


def restrict_new_files() -> None:
    """From now on, this process creates files 0600 and directories 0700."""
    os.umask(PRIVATE_UMASK)


def make_private_directory(path: Path) -> None:
    """mkdir -p, the last directory 0700 when it is new (an existing one keeps its mode)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def create_private_file(path: Path) -> None:
    """Create an empty file with mode 0600 unless it exists (never truncates)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)


def shared_mode(path: Path) -> int | None:
    """The file's permission bits if group or others have any access, else None (also when missing)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    return stat.S_IMODE(mode) if mode & (stat.S_IRWXG | stat.S_IRWXO) else None


def refuse_shared_database(database_file: Path) -> None:
    """Refuse a SQLite database whose file, -wal or -shm other users could read (customer data)."""
    files = [database_file, Path(f"{database_file}-wal"), Path(f"{database_file}-shm")]
    shared = [(path, mode) for path in files if (mode := shared_mode(path)) is not None]
    if shared:
        path, mode = shared[0]
        names = " ".join(str(p) for p in files if p.exists())
        raise ConfigurationError(f"The database file {path} can be read by other users (mode {mode:04o}); "
                                 f"it holds customer data: run chmod 600 {names}")
