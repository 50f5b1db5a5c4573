"""SFTP at the station: each user reads their own export directory (Excel, PDF, receipts), nothing else.

The user's directory is the SFTP root (a virtual chroot); every request that
would change anything is refused, and a path that resolves (through a
symbolic link, say) outside the directory is refused too.
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh
from asyncssh.sftp import FXF_APPEND, FXF_CREAT, FXF_TRUNC, FXF_WRITE

READ_ONLY = "Files here are read-only: the export directory is written by stron-tui only."
WRITE_FLAGS = FXF_WRITE | FXF_APPEND | FXF_CREAT | FXF_TRUNC


def user_export_root(settings, user_id: int) -> Path:
    """The SFTP root of a logged-in user: their own export folder, by user id (never by the typed name,
    which differs in case for a key login and folds alike for different users)."""
    from stron_tui.exports.files import export_directory

    return export_directory(settings, user_id)


class ExportsSFTPServer(asyncssh.SFTPServer):
    def __init__(self, chan, root: Path):
        self._root = os.path.realpath(root).encode()
        super().__init__(chan, chroot=self._root)

    def map_path(self, path: bytes) -> bytes:
        local = super().map_path(path)
        resolved = os.path.realpath(local)
        if resolved != self._root and not resolved.startswith(self._root + b"/"):
            raise asyncssh.SFTPPermissionDenied("Only your own export directory is available.")
        return local

    def open(self, path, pflags, attrs):
        if pflags & WRITE_FLAGS:
            raise asyncssh.SFTPPermissionDenied(READ_ONLY)
        return super().open(path, pflags, attrs)

    def open56(self, path, desired_access, flags, attrs):
        raise asyncssh.SFTPOpUnsupported("Use SFTP version 3.")

    def _refuse(self, *args, **kwargs):
        raise asyncssh.SFTPPermissionDenied(READ_ONLY)

    write = setstat = lsetstat = fsetstat = remove = mkdir = rmdir = _refuse
    rename = posix_rename = symlink = link = lock = unlock = _refuse
