"""Operations commands: `stron-tui backup`, `restore` and `status` (see docs/operations.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_backup(args: argparse.Namespace) -> int:
    from stron_tui.db.backup import backup
    from stron_tui.settings import load_settings

    result = backup(load_settings(), Path(args.file) if args.file else None)
    manifest = result.manifest
    print(f"Backup written to {result.path}: schema {manifest.schema_revision}, {manifest.sales:,} sales, "
          f"{manifest.database_bytes:,} bytes, SHA-256 {manifest.sha256}.")
    print("The master key is not in it: keep the key file apart, as docs/operations.md says.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from stron_tui.db.backup import read_manifest, restore
    from stron_tui.settings import ensure_directory, load_settings
    from stron_tui.ssh.status import open_sessions_sentence

    settings = load_settings()
    ensure_directory(settings.data_dir, "data directory")
    if not args.yes:
        manifest = read_manifest(Path(args.file))
        print(f"{args.file}: made {manifest.created_at}, schema {manifest.schema_revision}, "
              f"{manifest.sales:,} sales.")
        print("Run again with --yes to replace the database with it (the current one is kept beside it).")
        return 1
    result = restore(settings, Path(args.file), sessions_open=lambda: open_sessions_sentence(settings))
    print(f"Restored {args.file} (made {result.manifest.created_at}, {result.manifest.sales:,} sales) "
          f"into {result.database}.")
    if result.migrated_to:
        print(f"Its schema {result.manifest.schema_revision} was brought up to {result.migrated_to}.")
    if result.replaced:
        print(f"The database it replaced is kept as {result.replaced}; delete it once the restore is checked.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from stron_tui.settings import load_settings
    from stron_tui.ssh.status import format_status, read_servers

    servers = read_servers(load_settings())
    print(format_status(servers))
    return 0


def register(commands) -> None:
    backup = commands.add_parser(
        "backup", help="copy the embedded database while the app runs (with a manifest; never the master key)",
        description="Write a consistent copy of the embedded SQLite database, made with SQLite's online "
                    "backup while stations keep selling, and a manifest (schema revision, SHA-256). The "
                    "master key is never included: keep it apart. Server databases: docs/operations.md.")
    backup.add_argument("file", nargs="?", metavar="FILE",
                        help="where to write it (default: <data dir>/backups/stron-backup-<UTC time>.tar)")
    backup.set_defaults(handler=cmd_backup)

    restore = commands.add_parser(
        "restore", help="replace the embedded database with a backup (everything stopped first)",
        description="Check a backup (checksum, schema revision, that it belongs to this installation's "
                    "master key) and, with --yes, replace the embedded database with it atomically. Refused "
                    "while serve-ssh, serve-api or any app has the database open.")
    restore.add_argument("file", metavar="FILE", help="a file written by stron-tui backup")
    restore.add_argument("--yes", action="store_true", help="replace the database (without it: show the backup)")
    restore.set_defaults(handler=cmd_restore)

    status = commands.add_parser(
        "status", help="the SSH server's sessions: user, station, address, idle time, suspended",
        description="Show every running serve-ssh on this data directory and its sessions.")
    status.set_defaults(handler=cmd_status)
