"""Secrets never leave in clear: vending keys, passwords and API keys are absent from the
database, the audit trail, every export and every error message after a day's work."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from stron_tui.db.models import Base
from stron_tui.errors import StronError
from stron_tui.services import auth, supply_groups, users, vending
from stron_tui.services.receipts import reprint_receipt
from tests.factories import VENDING_KEY_02, VENDING_KEY_04, add_meter, build_world

SECRET_KEY_HEX = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e70042"
ALICE_PASSWORD = "Alice-Secret-Pw-77"
WRONG_GUESS = "Guess-Nobody-Knows-9"


def _needles(api_key: str | None) -> dict[str, list[bytes]]:
    keys = [SECRET_KEY_HEX, VENDING_KEY_02.hex(), VENDING_KEY_04.hex()]
    needles = {f"vending key {k[:6]}": [k.encode(), k.upper().encode(), bytes.fromhex(k)] for k in keys}
    needles["Alice's password"] = [ALICE_PASSWORD.encode()]
    needles["a mistyped password"] = [WRONG_GUESS.encode()]
    needles["the Admin password"] = [b"AdminPass1"]
    if api_key:
        needles["an API key"] = [api_key.encode()]
    return needles


def _database_text(ctx) -> bytes:
    """Every value of every row of every table, as text."""
    chunks = []
    with ctx.db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name not in inspect(connection).get_table_names():
                continue
            for row in connection.execute(select(table)):
                for value in row:
                    chunks.append(value if isinstance(value, bytes) else str(value).encode())
    return b"\n".join(chunks)


def _export_bytes(directory: Path) -> bytes:
    chunks = []
    for path in directory.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        chunks.append(data)
        if data[:2] == b"PK":  # xlsx: look inside the zip, where the text lives
            with zipfile.ZipFile(path) as archive:
                chunks.extend(archive.read(name) for name in archive.namelist())
    return b"\n".join(chunks)


def test_no_secret_in_database_audit_exports_or_errors(ctx, admin):
    messages: list[str] = []
    world = build_world(ctx)
    meter = add_meter(world, "4400000001")

    supply_groups.add_supply_group(ctx, admin, sgc="600900", krn=1, dkga="04", key_hex=SECRET_KEY_HEX)
    for bad in (SECRET_KEY_HEX[:-1], SECRET_KEY_HEX[:-2] + "zz"):
        with pytest.raises(StronError) as refused:
            supply_groups.add_supply_group(ctx, admin, sgc="600901", krn=1, dkga="04", key_hex=bad)
        messages.append(str(refused.value))

    users.create_user(ctx, admin, user_code="alice", name="Alice", role="Administrator")
    alice = auth.authenticate(ctx, "alice", "123456")
    auth.change_own_password(ctx, alice, "123456", ALICE_PASSWORD)
    auth.change_own_password(ctx, alice, "123456", ALICE_PASSWORD, kind="payment")
    with pytest.raises(StronError) as wrong:
        auth.authenticate(ctx, "alice", WRONG_GUESS)
    messages.append(str(wrong.value))
    alice = auth.authenticate(ctx, "alice", ALICE_PASSWORD)

    receipt = vending.vend(ctx, alice, vending.VendRequest(meter, "amount", "10", request_id="secrets-audit-1"),
                           payment_password=ALICE_PASSWORD)
    with pytest.raises(StronError) as bad_pin:
        vending.vend(ctx, alice, vending.VendRequest(meter, "amount", "10", request_id="secrets-audit-2"),
                     payment_password=WRONG_GUESS)
    messages.append(str(bad_pin.value))
    reprint_receipt(ctx, alice, receipt.receipt_number)

    api_key = None
    try:
        from stron_tui.services import api_accounts
    except ImportError:
        api_accounts = None
    if api_accounts is not None and hasattr(api_accounts, "create_api_account"):
        created = api_accounts.create_api_account(ctx, admin, name="partner", role="Administrator")
        api_key = getattr(created, "key", None) or getattr(created, "secret", None)

    from stron_tui.exports.receipts import save_receipt
    from stron_tui.services.audit_log import export_xlsx
    from stron_tui.services.reports import export_report

    save_receipt(ctx.settings, receipt, alice.user_id)
    for fmt in ("xlsx", "csv", "pdf"):
        export_report(ctx, alice, "receipts", fmt)
    export_xlsx(ctx, alice)

    database = _database_text(ctx)
    exports = _export_bytes(Path(ctx.settings.export_dir))
    error_text = "\n".join(messages).encode()
    raw_file = b""
    if ctx.db.backend == "sqlite":
        ctx.db.dispose()
        for suffix in ("", "-wal"):
            path = Path(ctx.db.url.database + suffix)
            if path.exists():
                raw_file += path.read_bytes()
    assert database and exports
    for what, forms in _needles(api_key).items():
        for form in forms:
            assert form not in database, f"{what} is in the database in clear"
            assert form not in raw_file, f"{what} is in the database file in clear"
            assert form not in exports, f"{what} is in an export"
            assert form not in error_text, f"{what} is in an error message"
    # The audit trail recorded the work without the secrets (checked above as part of the database).
    with ctx.db.engine.connect() as connection:
        actions = set(connection.execute(text("SELECT DISTINCT action FROM audit_log")).scalars())
    assert {"supply_groups.create", "login", "login_failed", "password_changed", "vend", "receipt.reprint",
            "report.export"} <= actions
