"""Where exports go and how they are named; written atomically so no half file is left.

Each user's files go to `<export_dir>/u<user id>/` (u7 for user id 7): the
id never changes and belongs to one user only, where a folder named after the
typed or folded user name was shared by names that fold alike ("andré" and
"andrè") and split by case ("CLERK1" over SSH). SFTP shows a user exactly that
folder. Folders named after users by earlier versions are left as they are
(docs/security.md, "Data scoping").
"""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

from stron_tui.errors import StronError
from stron_tui.domain.clock import utcnow


class ExportFailed(StronError):
    code = "export_failed"


class ExportCancelled(StronError):
    code = "cancelled"


def user_folder(user_id: int) -> str:
    """The name of a user's own export folder, from the immutable user id."""
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 1:
        raise ValueError(f"an export folder needs a user id, not {user_id!r}")
    return f"u{user_id}"


def export_directory(settings, user_id: int | None = None) -> Path:
    """The user's own export directory (SFTP shows each user theirs), or the shared one for the system."""
    base = Path(settings.export_dir)
    target = base / user_folder(user_id) if user_id is not None else base
    try:
        target.mkdir(parents=True, exist_ok=True, mode=0o700)  # exports hold customer data
    except OSError as error:
        raise ExportFailed(f"Cannot create the export directory {target}: {error.strerror}.") from None
    if not os.access(target, os.W_OK):
        raise ExportFailed(f"The export directory {target} is not writable; ask an administrator.")
    return target


UPLOAD_FOLDER = "upload"
UPLOAD_FILE_LIMIT = 50 * 1024 * 1024  # the largest spreadsheet an import takes (excel_io.MAX_FILE_BYTES)
UPLOAD_FOLDER_LIMIT = 200 * 1024 * 1024  # all of one user's uploads together


def upload_directory(settings, user_id: int) -> Path:
    """The user's upload folder: `upload/` in their export directory (their SFTP root), the one place
    SFTP may write and the place the import screen and `stron-tui import` list."""
    target = export_directory(settings, user_id) / UPLOAD_FOLDER
    try:
        target.mkdir(mode=0o700, exist_ok=True)
    except OSError as error:
        raise ExportFailed(f"Cannot create the upload folder {target}: {error.strerror}.") from None
    return target


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "export"


def export_path(settings, stem: str, extension: str, *, user_id: int | None = None,
                when: datetime | None = None) -> Path:
    """A new file name in the user's export directory (see export_directory), stamped with the local time."""
    stamp = (when or utcnow()).astimezone(settings.zone).strftime("%Y%m%d-%H%M%S")
    directory = export_directory(settings, user_id)
    path = directory / f"{safe_name(stem)}-{stamp}.{extension}"
    counter = 2
    while path.exists():
        path = directory / f"{safe_name(stem)}-{stamp}-{counter}.{extension}"
        counter += 1
    return path


def sftp_path(settings, path: Path, user_id: int | None) -> str | None:
    """The path an SFTP client sees for a file in the operator's export directory (its SFTP root)."""
    if user_id is None:
        return None
    try:
        inside = Path(path).resolve().relative_to(export_directory(settings, user_id).resolve())
    except (ValueError, ExportFailed):
        return None
    return "/" + inside.as_posix()


def where_saved(settings, paths, user_id: int | None, remote: bool) -> str:
    """Which files were written and where to find them: the folder on this machine, or for a remote
    session the path to fetch over SFTP (same user and server as the session)."""
    paths = [Path(path) for path in paths]
    names = ", ".join(path.name for path in paths)
    if remote:
        fetchable = [sftp_path(settings, path, user_id) for path in paths]
        if all(fetchable):
            return f"{names}; fetch over SFTP (same user and server as this session): get {fetchable[0]}"
    return str(paths[0]) if len(paths) == 1 else f"{names} in {paths[0].parent}"


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it into place only on success."""
    handle, temporary = tempfile.mkstemp(prefix=".partial-", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        os.replace(temporary_path, path)
    except OSError as error:
        temporary_path.unlink(missing_ok=True)
        raise ExportFailed(f"Cannot write {path}: {error.strerror}.") from None
    except BaseException:
        temporary_path.unlink(missing_ok=True)
        raise
