"""SFTP at the station: each user reads their own export directory (Excel, PDF, receipts), nothing else,
and writes only into its `upload/` folder (spreadsheets to import).

The user's directory is the SFTP root (a virtual chroot); every request that
would change anything outside `/upload` is refused, and a path that resolves
(through a symbolic link, say) outside the directory is refused too. Uploads
are plain files directly in `/upload`: created 0600 whatever the client asks
(never executable), no permission changes, no folders or links, and at most
UPLOAD_FILE_LIMIT per file and UPLOAD_FOLDER_LIMIT for the folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh
from asyncssh.sftp import FXF_APPEND, FXF_CREAT, FXF_TRUNC, FXF_WRITE

from stron_tui.exports.files import UPLOAD_FILE_LIMIT, UPLOAD_FOLDER, UPLOAD_FOLDER_LIMIT

READ_ONLY = ("Files here are read-only: the export directory is written by stron-tui only. "
             f"Put files to import in /{UPLOAD_FOLDER}.")
WRITE_FLAGS = FXF_WRITE | FXF_APPEND | FXF_CREAT | FXF_TRUNC
UPLOAD_MODE = 0o600


def user_export_root(settings, user_id: int) -> Path:
    """The SFTP root of a logged-in user: their own export folder, by user id (never by the typed name,
    which differs in case for a key login and folds alike for different users)."""
    from stron_tui.exports.files import export_directory

    return export_directory(settings, user_id)


class ExportsSFTPServer(asyncssh.SFTPServer):
    def __init__(self, chan, root: Path):
        self._root = os.path.realpath(root).encode()
        self._upload = os.path.join(self._root, UPLOAD_FOLDER.encode())
        os.makedirs(self._upload, mode=0o700, exist_ok=True)
        self._room: dict[int, int] = {}  # open upload handle -> the size it may grow to
        self._appending: set[int] = set()  # handles opened to append: they write at the end, whatever the offset
        super().__init__(chan, chroot=self._root)

    def _in_upload(self, local: bytes) -> bool:
        """A file directly in the upload folder (not the folder itself, nothing below it)."""
        return os.path.dirname(os.path.realpath(local)) == self._upload and not os.path.islink(local)

    def _upload_path(self, path: bytes) -> bytes:
        local = self.map_path(path)
        if not self._in_upload(local):
            raise asyncssh.SFTPPermissionDenied(READ_ONLY)
        return local

    def _folder_use(self, leaving_out: bytes) -> int:
        used = 0
        with os.scandir(self._upload) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False) and os.fsencode(entry.path) != leaving_out:
                    used += entry.stat(follow_symlinks=False).st_size
        return used

    def map_path(self, path: bytes) -> bytes:
        local = super().map_path(path)
        resolved = os.path.realpath(local)
        if resolved != self._root and not resolved.startswith(self._root + b"/"):
            raise asyncssh.SFTPPermissionDenied("Only your own export directory is available.")
        return local

    def open(self, path, pflags, attrs):
        if not pflags & WRITE_FLAGS:
            return super().open(path, pflags, attrs)
        local = self._upload_path(path)
        handle = super().open(path, pflags, asyncssh.SFTPAttrs(permissions=UPLOAD_MODE))
        os.chmod(handle.fileno(), UPLOAD_MODE)  # an existing file too: never executable
        self._room[id(handle)] = min(UPLOAD_FILE_LIMIT, UPLOAD_FOLDER_LIMIT - self._folder_use(os.path.realpath(local)))
        if pflags & FXF_APPEND:
            self._appending.add(id(handle))
        return handle

    def write(self, file_obj, offset, data):
        room = self._room.get(id(file_obj))
        if room is None:
            raise asyncssh.SFTPPermissionDenied(READ_ONLY)
        end = os.fstat(file_obj.fileno()).st_size if id(file_obj) in self._appending else offset
        if end + len(data) > room:
            limit = UPLOAD_FILE_LIMIT if room == UPLOAD_FILE_LIMIT else room
            raise asyncssh.SFTPFailure(f"Upload too large: at most {limit // (1024 * 1024)} MB here "
                                       f"(each file at most {UPLOAD_FILE_LIMIT // (1024 * 1024)} MB, the folder "
                                       f"{UPLOAD_FOLDER_LIMIT // (1024 * 1024)} MB); remove old uploads first.")
        return super().write(file_obj, offset, data)

    def close(self, file_obj):
        self._room.pop(id(file_obj), None)
        self._appending.discard(id(file_obj))
        return super().close(file_obj)

    def remove(self, path):
        self._upload_path(path)
        return super().remove(path)

    def posix_rename(self, oldpath, newpath):
        # Clients such as WinSCP upload to a temporary name, then rename: within the upload folder only.
        self._upload_path(oldpath)
        self._upload_path(newpath)
        return super().posix_rename(oldpath, newpath)

    def rename(self, oldpath, newpath):
        self._upload_path(oldpath)
        self._upload_path(newpath)
        return super().rename(oldpath, newpath)

    def setstat(self, path, attrs):
        # Only an upload's times may change (clients keep the original's time); never its permissions.
        local = self._upload_path(path)
        self._refuse_execute(attrs)
        if attrs.atime is not None and attrs.mtime is not None:
            os.utime(local, (attrs.atime, attrs.mtime))

    def fsetstat(self, file_obj, attrs):
        if id(file_obj) not in self._room:
            raise asyncssh.SFTPPermissionDenied(READ_ONLY)
        self._refuse_execute(attrs)
        if attrs.atime is not None and attrs.mtime is not None:
            os.utime(file_obj.fileno(), (attrs.atime, attrs.mtime))

    @staticmethod
    def _refuse_execute(attrs) -> None:
        if attrs.permissions is not None and attrs.permissions & 0o7111:
            raise asyncssh.SFTPPermissionDenied("Uploads are never executable.")

    def open56(self, path, desired_access, flags, attrs):
        raise asyncssh.SFTPOpUnsupported("Use SFTP version 3.")

    def _refuse(self, *args, **kwargs):
        raise asyncssh.SFTPPermissionDenied(READ_ONLY)

    lsetstat = mkdir = rmdir = symlink = link = lock = unlock = _refuse
