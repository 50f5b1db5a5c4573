"""Backup and restore of the embedded SQLite database: `stron-tui backup [FILE]` and `stron-tui restore FILE`.

A backup is one tar file (mode 0600) holding two members:

- `stron.sqlite3`: a consistent copy made with SQLite's online backup API while the app runs (one step in
  one read transaction: under WAL, cashiers keep selling meanwhile and the copy is the database as it was
  at one instant, never half a sale);
- `manifest.json`: the format, when it was made, the schema revision, the master key's check value (an
  HMAC of the key, which the database holds anyway), the copy's size and SHA-256, and a count of sales.

The master key is never in a backup: it is kept apart (docs/operations.md, "Master key custody"), so a
stolen backup alone opens no vending key.

Restore checks everything before it replaces anything: the checksum, the schema revision (a backup made
by a newer program is refused), the master key (its check value must match the key this installation
has: restoring a database whose vending keys cannot be opened is refused), and that nothing has the
database open (the in-use lock every app process holds, and SQLite's own lock). The swap is atomic: the
database path names the complete old database or the complete new one at every instant, and the old one
is kept beside it.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import io
import json
import os
import sqlite3
import tarfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from stron_tui.errors import ConfigurationError, StronError

BACKUP_FORMAT = "stron-tui backup 1"
DATABASE_MEMBER = "stron.sqlite3"
MANIFEST_MEMBER = "manifest.json"
CHUNK = 1 << 20
MANIFEST_LIMIT = 64 * 1024  # a manifest is a few hundred bytes; a larger one is not ours


class BackupError(StronError):
    """A backup or restore that cannot be done, said in one sentence; nothing was changed."""


@dataclass(frozen=True)
class Manifest:
    created_at: str
    schema_revision: str
    master_key_check: str | None
    database_bytes: int
    sha256: str
    sales: int

    def to_json(self) -> bytes:
        return json.dumps({"format": BACKUP_FORMAT, "created_at": self.created_at,
                           "schema_revision": self.schema_revision, "master_key_check": self.master_key_check,
                           "database": DATABASE_MEMBER, "database_bytes": self.database_bytes,
                           "sha256": self.sha256, "sales": self.sales}, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes, origin: Path) -> "Manifest":
        try:
            document = json.loads(data)
            if document.get("format") != BACKUP_FORMAT:
                raise ValueError
            return cls(created_at=str(document["created_at"]), schema_revision=str(document["schema_revision"]),
                       master_key_check=(str(document["master_key_check"])
                                         if document.get("master_key_check") is not None else None),
                       database_bytes=int(document["database_bytes"]), sha256=str(document["sha256"]),
                       sales=int(document["sales"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise BackupError(f"{origin} is not a stron-tui backup (its manifest is not one).") from None


# The in-use lock ----------------------------------------------------------------------------------------

def in_use_lock_path(database_file: Path) -> Path:
    return Path(f"{database_file}.lock")


def hold_in_use_lock(database_file: Path) -> int:
    """Mark the database as open by this process until it ends (or the returned descriptor is closed).

    A shared flock: any number of app processes hold it together; a restore needs it exclusively, so it
    is refused while any app, SSH session or API process has the database open, and an app cannot start
    mid-restore. The kernel releases it when the process dies, so a crash leaves nothing stale.
    """
    path = in_use_lock_path(database_file)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise ConfigurationError(f"The database {database_file} is being restored from a backup; "
                                 "start again when the restore has finished.") from None
    return descriptor


@contextmanager
def exclusive_use(database_file: Path, busy_message) -> Iterator[None]:
    """Hold the database for this process alone, or raise BackupError(busy_message())."""
    path = in_use_lock_path(database_file)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(busy_message()) from None
        yield
    finally:
        os.close(descriptor)


# Reading a database file --------------------------------------------------------------------------------

def sqlite_file(database_url: str) -> Path:
    """The file of the embedded database, or a clear refusal for a server database."""
    from stron_tui.db.engine import parse_database_url

    url = parse_database_url(database_url)
    if url.get_backend_name() != "sqlite":
        name = {"postgresql": "PostgreSQL", "mssql": "SQL Server"}[url.get_backend_name()]
        tool = "pg_dump or point-in-time recovery" if name == "PostgreSQL" else "full and log backups"
        raise BackupError(f"backup and restore are for the embedded SQLite database; back up {name} with "
                          f"{tool} (see docs/operations.md).")
    if url.database in (None, "", ":memory:"):
        raise BackupError("An in-memory database has nothing to back up.")
    return Path(url.database).expanduser().resolve()


def _facts(connection: sqlite3.Connection) -> tuple[str | None, str | None, int]:
    """The schema revision, the master key check value and the number of sales in a database."""
    from stron_tui.keystore import CHECK_NAME

    def one(sql: str, *parameters):
        try:
            row = connection.execute(sql, parameters).fetchone()
        except sqlite3.DatabaseError:
            return None
        return row[0] if row else None

    revision = one("SELECT version_num FROM alembic_version")
    check = one("SELECT value FROM app_meta WHERE name = ?", CHECK_NAME)
    sales = one("SELECT count(*) FROM vends") or 0
    return revision, check, int(sales)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _connect(path: Path, *, uri_mode: str | None = None) -> sqlite3.Connection:
    target = f"file:{path}?mode={uri_mode}" if uri_mode else str(path)
    connection = sqlite3.connect(target, uri=bool(uri_mode), timeout=30, isolation_level=None)
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def _utc_stamp(now: datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%SZ")


# Backup -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: Manifest


def default_backup_path(settings, now: datetime | None = None) -> Path:
    now = now or datetime.now(timezone.utc)
    return settings.data_dir / "backups" / f"stron-backup-{_utc_stamp(now)}.tar"


def backup(settings, target: Path | None = None) -> BackupResult:
    """Write a consistent copy of the running database with its manifest to `target` (never overwritten)."""
    from stron_tui.private_files import make_private_directory

    source = sqlite_file(settings.database_url)
    if not source.exists():
        raise BackupError(f"There is no database at {source} to back up.")
    now = datetime.now(timezone.utc)
    target = Path(target).expanduser() if target else default_backup_path(settings, now)
    if target.exists():
        raise BackupError(f"{target} exists already; give a new file name (a backup never overwrites one).")
    try:
        make_private_directory(target.parent)
    except OSError as error:
        raise BackupError(f"Cannot create the folder {target.parent}: {error.strerror}.") from None
    copy = target.parent / f".{target.name}.db-partial"
    partial = target.parent / f".{target.name}.partial"
    try:
        _copy_database(source, copy)
        with _connect(copy) as connection:
            check = connection.execute("PRAGMA quick_check").fetchone()[0]
            revision, key_check, sales = _facts(connection)
        connection.close()
        if check != "ok":
            raise BackupError(f"The copy of {source} failed SQLite's check ({check}); the database itself "
                              "may be damaged: run PRAGMA integrity_check on it.")
        if revision is None:
            raise BackupError(f"The database {source} has no stron-tui schema; there is nothing to back up.")
        manifest = Manifest(created_at=now.isoformat(timespec="seconds"), schema_revision=revision,
                            master_key_check=key_check, database_bytes=copy.stat().st_size,
                            sha256=_sha256(copy), sales=sales)
        _write_archive(partial, copy, manifest)
        os.replace(partial, target)
        _fsync_directory(target.parent)
    except OSError as error:
        raise BackupError(f"Cannot write the backup {target}: {error.strerror or error}.") from None
    finally:
        for leftover in (copy, partial):
            leftover.unlink(missing_ok=True)
    return BackupResult(target, manifest)


def _copy_database(source: Path, copy: Path) -> None:
    descriptor = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(descriptor)
    with _connect(source, uri_mode="ro") as reader, _connect(copy) as writer:
        # pages=-1: the whole database in one step inside one read transaction. Stepping would restart
        # the copy each time a sale commits in between, and could never finish on a busy day.
        reader.backup(writer, pages=-1)
        # The copy stands alone: one file, no -wal beside it (the app switches it back to WAL on open).
        writer.execute("PRAGMA journal_mode=DELETE")
    reader.close()
    writer.close()


def _write_archive(partial: Path, copy: Path, manifest: Manifest) -> None:
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as archive:
            data = manifest.to_json()
            info = tarfile.TarInfo(MANIFEST_MEMBER)
            info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(timezone.utc).timestamp())
            archive.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo(DATABASE_MEMBER)
            info.size, info.mode, info.mtime = copy.stat().st_size, 0o600, int(copy.stat().st_mtime)
            with copy.open("rb") as database:
                archive.addfile(info, database)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# Restore ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RestoreResult:
    database: Path
    manifest: Manifest
    replaced: Path | None  # the database that was there before, kept under this name
    migrated_to: str | None  # the schema the restored copy was brought up to, when it was older


def read_manifest(archive_path: Path) -> Manifest:
    with _open_archive(archive_path) as archive:
        return _manifest_of(archive, archive_path)


@contextmanager
def _open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        archive = tarfile.open(path, mode="r:")
    except FileNotFoundError:
        raise BackupError(f"There is no backup file {path}.") from None
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"{path} is not a stron-tui backup ({error}).") from None
    try:
        yield archive
    finally:
        archive.close()


def _member(archive: tarfile.TarFile, name: str, path: Path) -> tarfile.TarInfo:
    try:
        member = archive.getmember(name)
    except KeyError:
        raise BackupError(f"{path} is not a stron-tui backup (it has no {name}).") from None
    if not member.isfile():
        raise BackupError(f"{path} is not a stron-tui backup ({name} is not a plain file).")
    return member


def _manifest_of(archive: tarfile.TarFile, path: Path) -> Manifest:
    member = _member(archive, MANIFEST_MEMBER, path)
    if member.size > MANIFEST_LIMIT:
        raise BackupError(f"{path} is not a stron-tui backup (its manifest is not one).")
    return Manifest.from_json(archive.extractfile(member).read(), path)


def _known_revisions() -> tuple[set[str], str]:
    from alembic.script import ScriptDirectory

    from stron_tui.db.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    return {script.revision for script in scripts.walk_revisions()}, scripts.get_current_head()


def _check_revision(revision: str, origin: str) -> None:
    known, head = _known_revisions()
    if revision not in known:
        raise BackupError(f"{origin} is at schema {revision}, newer than this program knows (it knows up to "
                          f"{head}); install the stron-tui version that made it, then restore.")


def _current_master_key_check(settings) -> str:
    """The check value of the master key this installation holds; never makes a new key."""
    from stron_tui.keystore import _check_value, _parse_key_text, read_master_key_file

    from_env = settings.master_key.get_secret_value()
    if from_env:
        return _check_value(_parse_key_text(from_env, "STRON_MASTER_KEY"))
    path = settings.master_key_file
    try:
        return _check_value(read_master_key_file(path))
    except FileNotFoundError:
        raise BackupError(f"There is no master key at {path}: put the key file that belongs to this backup "
                          "there (mode 0600) or set STRON_MASTER_KEY, then restore; a restore never makes "
                          "a new key.") from None


def _check_master_key(expected: str | None, current: str, origin: str) -> None:
    if expected is not None and not hmac.compare_digest(expected, current):
        raise BackupError(f"{origin} was made under another master key than the one this installation has; "
                          "its vending keys could not be opened. Put the right key file in place, then "
                          "restore.")


def restore(settings, archive_path: Path, *, sessions_open=None) -> RestoreResult:
    """Replace the embedded database with the backup at `archive_path`, after checking everything.

    `sessions_open`: a callable giving a sentence about the SSH sessions open now, or "" (for the message
    when the database is in use).
    """
    archive_path = Path(archive_path).expanduser()
    target = sqlite_file(settings.database_url)
    with _open_archive(archive_path) as archive:
        manifest = _manifest_of(archive, archive_path)
        origin = f"The backup {archive_path}"
        _check_revision(manifest.schema_revision, origin)
        _check_master_key(manifest.master_key_check, _current_master_key_check(settings), origin)
        member = _member(archive, DATABASE_MEMBER, archive_path)
        if not target.parent.is_dir():
            raise BackupError(f"The database folder {target.parent} does not exist.")
        staged = target.parent / f".{target.name}.restoring"
        staged.unlink(missing_ok=True)
        try:
            _extract_checked(archive, member, manifest, staged, archive_path)
            migrated_to = _check_and_migrate_copy(staged, manifest, origin)

            def busy() -> str:
                who = sessions_open() if sessions_open else ""
                return (f"The database {target} is open ({who or 'the app, an SSH session or the API is using it'}"
                        "); stop serve-ssh, serve-api and every app, then restore.")

            with exclusive_use(target, busy):
                replaced = _swap_in(staged, target, busy)
        finally:
            staged.unlink(missing_ok=True)
    return RestoreResult(target, manifest, replaced, migrated_to)


def _extract_checked(archive: tarfile.TarFile, member: tarfile.TarInfo, manifest: Manifest, staged: Path,
                     archive_path: Path) -> None:
    if member.size != manifest.database_bytes:
        raise BackupError(f"The backup {archive_path} is damaged: its database is {member.size} bytes, the "
                          f"manifest says {manifest.database_bytes}.")
    digest = hashlib.sha256()
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        source = archive.extractfile(member)
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if not hmac.compare_digest(digest.hexdigest(), manifest.sha256):
        raise BackupError(f"The backup {archive_path} is damaged: its database does not match the checksum "
                          "in its manifest. Nothing was changed.")


def _check_and_migrate_copy(staged: Path, manifest: Manifest, origin: str) -> str | None:
    """The copy itself must say what its manifest says; an older schema is brought up to this program's."""
    from stron_tui.db.revision import SCHEMA_HEAD

    connection = _connect(staged)
    try:
        if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"{origin} holds a damaged database (SQLite's check fails); nothing was changed.")
        revision, check, _ = _facts(connection)
    finally:
        connection.close()
    if revision != manifest.schema_revision or check != manifest.master_key_check:
        raise BackupError(f"{origin} does not match its manifest (schema or master key); nothing was changed.")
    if revision == SCHEMA_HEAD:
        return None
    from stron_tui.db import migrate
    from stron_tui.db.engine import Database

    db = Database(f"sqlite:///{staged}")
    try:
        migrate.upgrade(db)
    finally:
        db.dispose()
    connection = _connect(staged)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()
    return SCHEMA_HEAD


def _swap_in(staged: Path, target: Path, busy) -> Path | None:
    """Put `staged` at `target` atomically; the old database is kept as target.replaced-<time>."""
    replaced = None
    if target.exists():
        # SQLite's own lock as well: a process that opened the file without the app (the sqlite3 shell, a
        # report tool) holds no in-use lock. Fold the WAL into the file and leave it a single file, so no
        # -wal of the old database is ever beside the new one.
        connection = _connect(target)
        connection.execute("PRAGMA busy_timeout=0")
        try:
            connection.execute("BEGIN EXCLUSIVE")
            connection.execute("COMMIT")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            mode = connection.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError:
            raise BackupError(busy()) from None
        finally:
            connection.close()
        if str(mode).lower() != "delete" or Path(f"{target}-wal").exists():
            raise BackupError(busy())
        replaced = target.parent / f"{target.name}.replaced-{_utc_stamp(datetime.now(timezone.utc))}"
        os.link(target, replaced)  # the old database keeps a name; target still names it too
    Path(f"{target}-shm").unlink(missing_ok=True)
    os.replace(staged, target)  # atomic: target names the old database or the new one, never neither
    _fsync_directory(target.parent)
    return replaced
