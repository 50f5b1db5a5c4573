"""Registering users' SSH public keys: the service and the System Management screen."""

from __future__ import annotations

import asyncssh
import pytest
from sqlalchemy import select
from textual.widgets import OptionList, Static

from stron_tui.app import StronApp
from stron_tui.db.models import AuditEntry
from stron_tui.errors import Conflict, PermissionDenied, ValidationError
from stron_tui.services import public_keys, users
from stron_tui.services.auth import actor_for, find_user


def test_keys_are_checked_unique_audited_and_need_the_user_manager_right(ctx, admin):
    key = asyncssh.generate_private_key("ssh-ed25519", comment="till-1")
    text = key.export_public_key().decode()
    users.create_user(ctx, admin, user_code="cashier1", role="OnlyVending")
    added = public_keys.add_key(ctx, admin, "CASHIER1", text)
    assert added.user_code == "cashier1" and added.comment == "till-1" and added.algorithm == "ssh-ed25519"
    assert public_keys.key_may_log_in(ctx, "cashier1", added.fingerprint)
    assert not public_keys.key_may_log_in(ctx, "Admin", added.fingerprint)
    with pytest.raises(Conflict, match="already registered to cashier1"):
        public_keys.add_key(ctx, admin, "Admin", text)
    with pytest.raises(ValidationError, match="private key"):
        public_keys.add_key(ctx, admin, "Admin", key.export_private_key().decode())
    with pytest.raises(ValidationError, match="not an SSH public key"):
        public_keys.add_key(ctx, admin, "Admin", "ssh-ed25519 garbage")
    with ctx.db.read_session() as session:
        cashier = actor_for(session, find_user(session, "cashier1"), "tui")
    with pytest.raises(PermissionDenied):
        public_keys.add_key(ctx, cashier, "cashier1", asyncssh.generate_private_key("ssh-ed25519")
                            .export_public_key().decode())
    public_keys.remove_key(ctx, admin, added.id)
    assert public_keys.list_keys(ctx, admin, "cashier1") == []
    with ctx.db.read_session() as session:
        actions = [row.action for row in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert "public_key.added" in actions and "public_key.removed" in actions


async def test_an_administrator_registers_and_removes_a_key_by_keyboard(ctx, admin):
    text = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        app.open_entry("system.ssh_keys")
        await pilot.pause()
        await pilot.press(*"Admin", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Admin has no SSH keys yet." in str(app.screen.query_one("#keys-message", Static).render())
        app.screen.query_one("#key").value = text  # pasted, as an administrator would
        await pilot.press("tab", *"front desk", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        keys = app.screen.query_one("#keys", OptionList)
        assert keys.option_count == 1 and "front desk" in str(keys.get_option_at_index(0).prompt)
        keys.focus()
        keys.highlighted = 0
        await pilot.press("delete")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("#keys", OptionList).option_count == 0
    assert public_keys.list_keys(ctx, admin, "Admin") == []
