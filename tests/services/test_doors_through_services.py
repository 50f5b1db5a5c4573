"""What the SSH server, the HTTP API and the app shell used to read from the database themselves, now
asked of a service: the station label, the SSH session's actor, an API account's own name, and the
audit rows of a batch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from stron_tui.db.models import User
from stron_tui.domain.clock import utcnow
from stron_tui.errors import AccountLocked, AuthenticationFailed
from stron_tui.services import api_accounts, audit, auth, stations, users
from tests.scoping import build_scoped


def test_the_status_line_names_the_operators_station(ctx, admin):
    scoped = build_scoped(ctx, admin)
    assert stations.station_label(ctx, scoped.s2_id) == "S2 Harbour"
    assert stations.station_label(ctx, None) == ""
    assert stations.station_label(ctx, 987654) == ""


def test_an_ssh_sessions_actor_is_read_afresh(ctx, admin):
    scoped = build_scoped(ctx, admin)
    clerk = auth.actor_of_user(ctx, scoped.cashier1.user_id, source="ssh", remote="10.0.0.7")
    assert (clerk.user_code, clerk.source, clerk.remote, clerk.station_id) == (
        "clerk1", "ssh", "10.0.0.7", scoped.world.station_id)
    assert "topup.vend" in clerk.permissions
    with ctx.db.session() as session:
        session.execute(update(User).where(User.id == scoped.cashier1.user_id)
                        .values(locked_until=utcnow() + timedelta(minutes=5)))
    with pytest.raises(AccountLocked):
        auth.actor_of_user(ctx, scoped.cashier1.user_id, source="ssh")
    users.set_enabled(ctx, admin, scoped.cashier2.user_id, False)
    with pytest.raises(AuthenticationFailed, match="may no longer log in"):
        auth.actor_of_user(ctx, scoped.cashier2.user_id, source="ssh")
    with pytest.raises(AuthenticationFailed):
        auth.actor_of_user(ctx, 987654, source="ssh")


def test_an_api_account_reads_its_own_name(ctx, admin):
    scoped = build_scoped(ctx, admin)
    assert api_accounts.own_name(ctx, scoped.partner_a) == "Partner A"
    assert api_accounts.own_name(ctx, scoped.partner_b) == "Partner B"
    assert api_accounts.own_name(ctx, scoped.cashier1) == ""


def test_the_audit_rows_of_a_batch_are_built_like_a_single_one(admin):
    rows = audit.entry_rows(admin, "customers.import_update", "customer", [
        (7, "updated \x1b[2Jcustomer C7", {"name": ["Old", "New\x1b]0;x\x07"]}),
        ("C8", "x" * 500, {}),
    ])
    single = audit.entry_values(admin, "customers.import_update", entity="customer", entity_id=7,
                                summary="updated \x1b[2Jcustomer C7", detail={"name": ["Old", "New\x1b]0;x\x07"]})
    assert rows[0] | {"occurred_at": None} == single | {"occurred_at": None}
    assert rows[0]["summary"] == "updated [2Jcustomer C7"  # the ESC is gone, as from every other audit row
    assert "\x1b" not in rows[0]["detail"] and "\\u001b" in rows[0]["detail"]
    assert len(rows[1]["summary"]) == 400 and rows[1]["detail"] == ""
    assert rows[0]["occurred_at"] == rows[1]["occurred_at"]  # one instant for the batch
