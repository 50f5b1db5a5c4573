"""Backup and restore of the embedded database: a consistent copy while cashiers sell, restored elsewhere
with every sale; refused (and nothing changed) with the wrong master key, a newer schema, a damaged file,
or while the database is open."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from stron_tui.db.backup import BackupError, backup, read_manifest, restore
from stron_tui.db.models import User, Vend
from stron_tui.db.revision import SCHEMA_HEAD
from stron_tui.services import auth, roles, users, vending
from stron_tui.services.context import open_context
from stron_tui.services.passwords import hash_password
from stron_tui.services.vending import VendRequest
from stron_tui.settings import Settings
from tests.conftest import TEST_MASTER_KEY
from tests.factories import add_meter, build_world

PAYMENT = "PayWord42"
OTHER_KEY = "ff" * 32


def settings_for(data_dir: Path, key_hex: str | None = TEST_MASTER_KEY) -> Settings:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_file = data_dir / "master.key"
    if key_hex is not None and not key_file.exists():
        key_file.write_text(key_hex + "\n")
        key_file.chmod(0o600)
    return Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'stron.sqlite3'}",
                    export_dir=data_dir / "exports", master_key_file=key_file, timezone="Africa/Lagos",
                    shift_required=False)  # the cashier sells without a shift: backups are the subject here


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch):
    monkeypatch.delenv("STRON_MASTER_KEY", raising=False)


@pytest.fixture
def live(tmp_path):
    """A running installation with a cashier who sells: (settings, ctx, cashier, meters)."""
    settings = settings_for(tmp_path / "live")
    ctx = open_context(settings)
    auth.set_first_admin_password(ctx, "AdminPass1")
    admin = auth.authenticate(ctx, "Admin", "AdminPass1")
    world = build_world(ctx)
    roles.create_role(ctx, admin, name="Till", permissions=["topup.vend"])
    info = users.create_user(ctx, admin, user_code="cashier", role="Till", station_id=world.station_id)
    with ctx.db.session() as session:
        user = session.get(User, info.id)
        user.password_hash = hash_password("CashWord42")
        user.payment_password_hash = hash_password(PAYMENT)
        user.must_change_password = user.must_change_payment_password = False
    cashier = auth.authenticate(ctx, "cashier", "CashWord42")
    meters = [add_meter(world, f"41000000{n:02d}") for n in range(4)]
    yield settings, ctx, cashier, meters
    ctx.close()


def sell(ctx, cashier, meter) -> tuple[str, str]:
    receipt = vending.vend(ctx, cashier, VendRequest(meter_number=meter, mode="amount", value="10.00",
                                                     request_id=vending.new_request_id()),
                           payment_password=PAYMENT)
    return receipt.receipt_number, receipt.token


def sales_in(database_file: Path) -> dict[str, str]:
    connection = sqlite3.connect(database_file)
    try:
        return dict(connection.execute("SELECT receipt_number, token FROM vends"))
    finally:
        connection.close()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_backup_while_selling_then_restore_into_a_fresh_data_dir_has_every_sale(live, tmp_path):
    settings, ctx, cashier, meters = live
    before = dict(sell(ctx, cashier, meter) for meter in meters)
    sold_during: list[tuple[str, str]] = []
    stop = threading.Event()

    def keep_selling():
        index = 0
        while not stop.is_set():
            sold_during.append(sell(ctx, cashier, meters[index % len(meters)]))
            index += 1

    seller = threading.Thread(target=keep_selling)
    seller.start()
    try:
        while len(sold_during) < 2:  # selling is under way
            stop.wait(0.01)
        result = backup(settings, tmp_path / "nightly.tar")
    finally:
        stop.set()
        seller.join()
    after = dict(sold_during)
    assert oct(result.path.stat().st_mode & 0o777) == "0o600"
    key_bytes = bytes.fromhex(TEST_MASTER_KEY)
    archive_bytes = result.path.read_bytes()
    assert TEST_MASTER_KEY.encode() not in archive_bytes and key_bytes not in archive_bytes
    with tarfile.open(result.path) as archive:
        assert sorted(archive.getnames()) == ["manifest.json", "stron.sqlite3"]
        manifest = json.loads(archive.extractfile("manifest.json").read())
    assert manifest["schema_revision"] == SCHEMA_HEAD
    assert len(manifest["sha256"]) == 64 and manifest["sales"] >= len(before) + 2

    fresh = settings_for(tmp_path / "fresh")  # a new host: the key file was carried over apart
    restored = restore(fresh, result.path)
    assert restored.replaced is None and restored.manifest.sales == manifest["sales"]
    in_copy = sales_in(fresh.data_dir / "stron.sqlite3")
    assert before.items() <= in_copy.items()  # every sale made before the backup, token and all
    during = [receipt for receipt, _ in sold_during]
    # One instant's database: the sales made while it ran are there up to a point, none after it, no gap.
    kept = [receipt for receipt in during if receipt in in_copy]
    assert kept == during[:len(kept)] and len(kept) >= 2
    assert len(in_copy) == len(before) + len(kept) == manifest["sales"]
    assert all(in_copy[receipt] == after[receipt] for receipt in kept)

    reopened = open_context(fresh)  # the restored database opens and sells as before
    try:
        again = auth.authenticate(reopened, "cashier", "CashWord42")
        receipt, token = sell(reopened, again, meters[0])
        with reopened.db.read_session() as session:
            assert session.scalar(select(Vend.token).where(Vend.receipt_number == receipt)) == token
    finally:
        reopened.close()


def test_restore_over_a_database_keeps_the_old_one_beside_it(live, tmp_path):
    settings, ctx, cashier, meters = live
    first = dict([sell(ctx, cashier, meters[0])])
    made = backup(settings, tmp_path / "b.tar")
    later = dict([sell(ctx, cashier, meters[1])])
    ctx.close()
    result = restore(settings, made.path)
    assert result.replaced is not None and result.replaced.exists()
    assert sales_in(Path(settings.data_dir / "stron.sqlite3")) == first
    assert sales_in(result.replaced) == first | later
    assert not Path(f"{settings.data_dir / 'stron.sqlite3'}-wal").exists()


def test_restore_is_refused_while_the_database_is_open(live, tmp_path):
    settings, ctx, cashier, meters = live
    made = backup(settings, tmp_path / "b.tar")
    sell(ctx, cashier, meters[0])
    database = settings.data_dir / "stron.sqlite3"
    with pytest.raises(BackupError, match="is open .*stop serve-ssh, serve-api and every app"):
        restore(settings, made.path)
    ctx.close()
    # Opened by something other than the app (no in-use lock): SQLite's own lock refuses it too.
    other = sqlite3.connect(database)
    other.execute("BEGIN")
    other.execute("SELECT count(*) FROM vends").fetchone()
    try:
        before = len(sales_in(database))
        with pytest.raises(BackupError, match="is open"):
            restore(settings, made.path)
    finally:
        other.close()
    assert len(sales_in(database)) == before == 1


def test_an_app_cannot_open_the_database_while_it_is_being_restored(live, tmp_path):
    from stron_tui.db.backup import exclusive_use
    from stron_tui.errors import ConfigurationError

    settings, ctx, _, _ = live
    ctx.close()
    with exclusive_use((settings.data_dir / "stron.sqlite3").resolve(), lambda: "busy"):
        with pytest.raises(ConfigurationError, match="is being restored from a backup"):
            open_context(settings)


def test_restore_with_another_master_key_is_refused_and_changes_nothing(live, tmp_path):
    settings, ctx, cashier, meters = live
    sell(ctx, cashier, meters[0])
    made = backup(settings, tmp_path / "b.tar")
    other = settings_for(tmp_path / "other", OTHER_KEY)
    ctx_other = open_context(other)
    ctx_other.close()
    database = other.data_dir / "stron.sqlite3"
    digest = file_digest(database)
    with pytest.raises(BackupError, match="made under another master key"):
        restore(other, made.path)
    assert file_digest(database) == digest
    assert sorted(p.name for p in other.data_dir.iterdir()) == ["master.key", "stron.sqlite3",
                                                                "stron.sqlite3.lock"]
    no_key = settings_for(tmp_path / "nokey", None)
    with pytest.raises(BackupError, match="There is no master key at .*a restore never makes a new key"):
        restore(no_key, made.path)
    assert not (no_key.data_dir / "stron.sqlite3").exists() and not no_key.master_key_file.exists()


def rewrite_backup(source: Path, target: Path, *, revision: str | None = None, manifest_changes=None,
                   corrupt: bool = False) -> Path:
    """A backup as a newer program (or a damaged disk) would leave it."""
    with tarfile.open(source) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())
        database = archive.extractfile("stron.sqlite3").read()
    if revision:
        scratch = target.with_suffix(".db")
        scratch.write_bytes(database)
        connection = sqlite3.connect(scratch)
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
        connection.commit()
        connection.close()
        database = scratch.read_bytes()
        manifest.update(schema_revision=revision, sha256=hashlib.sha256(database).hexdigest(),
                        database_bytes=len(database))
    if corrupt:
        database = database[:5000] + bytes([database[5000] ^ 0xFF]) + database[5001:]
    manifest.update(manifest_changes or {})
    with tarfile.open(target, "w") as archive:
        for name, data in (("manifest.json", json.dumps(manifest).encode()), ("stron.sqlite3", database)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


def test_restore_of_a_newer_schema_or_a_damaged_backup_is_refused_and_changes_nothing(live, tmp_path):
    settings, ctx, cashier, meters = live
    sell(ctx, cashier, meters[0])
    made = backup(settings, tmp_path / "b.tar")
    ctx.close()
    database = settings.data_dir / "stron.sqlite3"
    digest = file_digest(database)
    newer = rewrite_backup(made.path, tmp_path / "newer.tar", revision="0099")
    with pytest.raises(BackupError, match="at schema 0099, newer than this program knows"):
        restore(settings, newer)
    damaged = rewrite_backup(made.path, tmp_path / "damaged.tar", corrupt=True)
    with pytest.raises(BackupError, match="is damaged: its database does not match the checksum"):
        restore(settings, damaged)
    lying = rewrite_backup(made.path, tmp_path / "lying.tar", manifest_changes={"master_key_check": None})
    with pytest.raises(BackupError, match="does not match its manifest"):
        restore(settings, lying)
    not_ours = tmp_path / "notes.tar"
    not_ours.write_text("hello")
    with pytest.raises(BackupError, match="is not a stron-tui backup"):
        restore(settings, not_ours)
    assert file_digest(database) == digest
    assert sorted(p.name for p in settings.data_dir.iterdir()) == ["master.key", "stron.sqlite3",
                                                                   "stron.sqlite3.lock"]


def test_backup_refuses_a_server_database_and_an_existing_file(tmp_path, live):
    settings, _, _, _ = live
    made = backup(settings, tmp_path / "b.tar")
    with pytest.raises(BackupError, match="exists already"):
        backup(settings, made.path)
    server = settings.with_overrides(database_url="postgresql+psycopg://u@127.0.0.1:9/x")
    with pytest.raises(BackupError, match="back up PostgreSQL with pg_dump"):
        backup(server, tmp_path / "pg.tar")
    assert read_manifest(made.path).sales == 0


def test_backup_and_restore_commands(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("STRON_")}
    env["STRON_DATA_DIR"] = str(tmp_path / "data")
    env["STRON_ADMIN_PASSWORD"] = "Correct-Horse-9"

    def run(*args):
        return subprocess.run([sys.executable, "-m", "stron_tui", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    assert run("init").returncode == 0
    made = run("backup", str(tmp_path / "b.tar"))
    assert made.returncode == 0, made.stderr
    assert "Backup written to" in made.stdout and "master key is not in it" in made.stdout
    shown = run("restore", str(tmp_path / "b.tar"))
    assert shown.returncode == 1 and "--yes" in shown.stdout
    done = run("restore", "--yes", str(tmp_path / "b.tar"))
    assert done.returncode == 0, done.stderr
    assert "kept as" in done.stdout
    refused = run("restore", "--yes", str(tmp_path / "missing.tar"))
    assert refused.returncode == 1 and refused.stderr.strip() == (
        f"stron-tui: There is no backup file {tmp_path / 'missing.tar'}.")
