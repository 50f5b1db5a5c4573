"""Printing per SSH key: the key a station logs in with may say how its terminal prints, over the station's
setting; the administrator changes it (F7 on System > SSH keys), audited, with the user-manager right."""

from __future__ import annotations

import asyncssh
import pytest
from sqlalchemy import inspect, select, text
from textual.widgets import OptionList, Static

from stron_tui.app import StronApp
from stron_tui.db import migrate
from stron_tui.db.engine import Database
from stron_tui.db.models import AuditEntry, SalesStation, UserPublicKey
from stron_tui.errors import PermissionDenied, ValidationError
from stron_tui.services import public_keys, users
from stron_tui.services.auth import actor_for, find_user
from stron_tui.services.stations import session_printing
from tests.db.test_migrations import empty_database_url  # noqa: F401 - the fixture
from tests.factories import build_world
from tests.screens.keyboard import settle


def _key_text() -> str:
    return asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()


def _station_prints(ctx, station_id, printing):
    with ctx.db.session() as session:
        session.get(SalesStation, station_id).printing = printing


def test_the_keys_setting_wins_over_the_stations_and_station_default_defers(ctx, admin):
    world = build_world(ctx)
    users.create_user(ctx, admin, user_code="till7", role="OnlyVending", station_id=world.station_id)
    key = public_keys.add_key(ctx, admin, "till7", _key_text(), "counter PC")
    assert key.printing == "station"
    assert session_printing(ctx, world.station_id, key.fingerprint) == ("none", "station")
    _station_prints(ctx, world.station_id, "terminal")
    assert session_printing(ctx, world.station_id, key.fingerprint) == ("terminal", "station")
    assert session_printing(ctx, world.station_id, "") == ("terminal", "station")  # a password login

    public_keys.set_key_printing(ctx, admin, key.id, "none")
    assert session_printing(ctx, world.station_id, key.fingerprint) == ("none", "key")
    _station_prints(ctx, world.station_id, "none")
    public_keys.set_key_printing(ctx, admin, key.id, "terminal")
    assert session_printing(ctx, world.station_id, key.fingerprint) == ("terminal", "key")
    assert session_printing(ctx, None, key.fingerprint) == ("terminal", "key")  # the terminal prints, station or not
    public_keys.remove_key(ctx, admin, key.id)
    assert session_printing(ctx, world.station_id, key.fingerprint) == ("none", "station")


def test_changing_a_keys_printing_is_checked_audited_and_refused_without_the_right(ctx, admin):
    users.create_user(ctx, admin, user_code="till8", role="OnlyVending")
    key = public_keys.add_key(ctx, admin, "till8", _key_text())
    with pytest.raises(ValidationError, match="Printing is one of"):
        public_keys.set_key_printing(ctx, admin, key.id, "fax")
    with ctx.db.read_session() as session:
        cashier = actor_for(session, find_user(session, "till8"), "tui")
    with pytest.raises(PermissionDenied):
        public_keys.set_key_printing(ctx, cashier, key.id, "terminal")
    assert public_keys.list_keys(ctx, admin, "till8")[0].printing == "station"  # nothing changed
    public_keys.set_key_printing(ctx, admin, key.id, "terminal")
    with ctx.db.read_session() as session:
        summaries = list(session.scalars(select(AuditEntry.summary).where(AuditEntry.action == "public_key.printing")))
    assert summaries == [f"SSH key {key.fingerprint} of till8: printing station default -> prints"]


async def test_f7_on_a_key_changes_how_its_terminal_prints(ctx, admin):
    users.create_user(ctx, admin, user_code="till9", role="OnlyVending")
    key = public_keys.add_key(ctx, admin, "till9", _key_text(), "till 9")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.open_entry("system.ssh_keys")
        await settle(app, pilot)
        await pilot.press(*"till9", "enter")
        await settle(app, pilot)
        keys = app.screen.query_one("#keys", OptionList)
        assert str(keys.get_option_at_index(0).prompt).startswith("station default")
        keys.focus()
        keys.highlighted = 0
        await pilot.press("f7")
        await settle(app, pilot)
        assert str(keys.get_option_at_index(0).prompt).startswith("prints")
        assert "printer" in str(app.screen.query_one("#keys-message", Static).render())
        await pilot.press("f7")
        await settle(app, pilot)
        assert str(keys.get_option_at_index(0).prompt).startswith("saves files")
    with ctx.db.read_session() as session:
        assert session.scalar(select(UserPublicKey.printing).where(UserPublicKey.id == key.id)) == "none"


def test_migration_0014_adds_the_keys_printing_and_takes_it_away(empty_database_url):  # noqa: F811
    db = Database(empty_database_url)
    try:
        migrate.upgrade(db, "0013")
        with db.engine.begin() as connection:
            now = {"yes": True, "no": False, "now": "2024-01-01 00:00:00"}
            connection.execute(text("INSERT INTO roles (name, name_key, description, builtin, created_at) "
                                    "VALUES ('R', 'r', '', :no, :now)"), now)
            connection.execute(text("INSERT INTO users (user_code, user_key, name, phone, role_id, password_hash, "
                                    "payment_password_hash, enabled, must_change_password, "
                                    "must_change_payment_password, failed_logins, builtin_admin, created_at) "
                                    "SELECT 'u', 'u', 'U', '', id, 'x', 'x', :yes, :no, :no, 0, :no, :now "
                                    "FROM roles WHERE name = 'R'"), now)
            connection.execute(text("INSERT INTO user_public_keys (user_id, fingerprint, public_key, comment, "
                                    "created_at) SELECT id, 'SHA256:x', 'ssh-ed25519 AAAA', '', :now FROM users "
                                    "WHERE user_code = 'u'"), {"now": "2024-01-01 00:00:00"})
        migrate.upgrade(db, "0014")
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT printing FROM user_public_keys")).scalars().all() == ["station"]
        migrate.downgrade(db, "0013")
        assert "printing" not in {column["name"] for column in inspect(db.engine).get_columns("user_public_keys")}
        migrate.upgrade(db)
    finally:
        db.dispose()
