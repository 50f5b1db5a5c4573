"""Vending keys are sealed under the master key; a missing or wrong key is refused early."""

from __future__ import annotations

import stat

import pytest

from sqlalchemy import delete

from stron_tui.db.models import AppMeta, VendingKey
from stron_tui.errors import ConfigurationError
from stron_tui.keystore import VendingKeyVault, load_master_key
from stron_tui.domain.clock import utcnow


def _settings(test_settings, tmp_path, name="fresh.key"):
    return test_settings.with_overrides(master_key_file=tmp_path / "keys" / name)


def _forget_master_key(ctx):
    """As on a database that has never seen a master key."""
    with ctx.db.session() as session:
        session.execute(delete(AppMeta).where(AppMeta.name == "master_key_check"))


def test_master_key_file_is_created_with_mode_0600(ctx, tmp_path):
    _forget_master_key(ctx)
    settings = _settings(ctx.settings, tmp_path)
    key = load_master_key(settings, ctx.db)
    assert len(key) == 32
    mode = stat.S_IMODE(settings.master_key_file.stat().st_mode)
    assert mode == 0o600
    # Opening again reads the same key.
    assert load_master_key(settings, ctx.db) == key


def test_wrong_master_key_is_refused(ctx, tmp_path):
    load_master_key(ctx.settings, ctx.db)
    other = _settings(ctx.settings, tmp_path, "other.key")
    other.master_key_file.parent.mkdir(parents=True)
    other.master_key_file.write_text("ab" * 32 + "\n")
    other.master_key_file.chmod(0o600)
    with pytest.raises(ConfigurationError, match="does not belong to this database"):
        load_master_key(other, ctx.db)


def test_missing_master_key_is_refused_once_the_database_has_one(ctx, tmp_path):
    load_master_key(ctx.settings, ctx.db)
    missing = _settings(ctx.settings, tmp_path, "gone.key")
    with pytest.raises(ConfigurationError, match="is missing"):
        load_master_key(missing, ctx.db)
    assert not missing.master_key_file.exists()


def test_master_key_file_readable_by_others_is_refused(ctx):
    ctx.settings.master_key_file.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_master_key(ctx.settings, ctx.db)


def test_vending_key_is_not_readable_in_the_database_file(ctx, tmp_path):
    if ctx.db.backend != "sqlite":
        pytest.skip("inspects the SQLite file's bytes")
    vending_key = bytes.fromhex("abababababababab949494949494949401234567")
    nonce, sealed = ctx.vault.seal("201457", 1, "04", vending_key)
    with ctx.db.session() as session:
        session.add(VendingKey(sgc="201457", krn=1, dkga="04", label="test", nonce=nonce, ciphertext=sealed,
                               created_at=utcnow()))
    ctx.db.dispose()
    database_file = ctx.db.url.database
    raw = b""
    for suffix in ("", "-wal"):
        try:
            with open(database_file + suffix, "rb") as handle:
                raw += handle.read()
        except FileNotFoundError:
            pass
    assert sealed in raw  # the row is there...
    assert vending_key not in raw  # ...but neither the key's bytes
    assert vending_key.hex().encode() not in raw and vending_key.hex().upper().encode() not in raw  # nor its hex
    # And it opens again with the master key.
    assert ctx.vault.open("201457", 1, "04", nonce, sealed) == vending_key


def test_sealed_key_is_bound_to_its_supply_group(ctx):
    nonce, sealed = ctx.vault.seal("123456", 1, "02", b"\x01" * 8)
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        ctx.vault.open("654321", 1, "02", nonce, sealed)
    assert isinstance(ctx.vault, VendingKeyVault)
