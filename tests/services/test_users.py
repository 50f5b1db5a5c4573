"""User Management: sub-accounts, the built-in Admin's protection, lockout and unlock, resets."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stron_tui.db.models import AuditEntry, District, SalesStation, User
from stron_tui.errors import AccountLocked, AuthenticationFailed, Conflict, PermissionDenied, ValidationError
from stron_tui.services import auth, roles, users
from stron_tui.domain.clock import utcnow
from stron_tui.services.permissions import SYSTEM_ACTOR


def actor_of(ctx, user_code):
    with ctx.db.session() as session:
        return auth.actor_for(session, auth.find_user(session, user_code), "tui")


def audit_actions(ctx, entity_id=None):
    with ctx.db.read_session() as session:
        query = select(AuditEntry.action).order_by(AuditEntry.id)
        if entity_id is not None:
            query = query.where(AuditEntry.entity_id == str(entity_id))
        return list(session.scalars(query))


def admin_id(ctx):
    with ctx.db.read_session() as session:
        return session.scalar(select(User.id).where(User.builtin_admin.is_(True)))


def add_station(ctx, code="ST01"):
    with ctx.db.session() as session:
        district = District(code="D1", code_key="d1", name="North", name_key="north", created_at=utcnow(),
                            updated_at=utcnow())
        session.add(district)
        session.flush()
        station = SalesStation(code=code, code_key=code.casefold(), name="Market", name_key="market",
                               district_id=district.id, created_at=utcnow(), updated_at=utcnow())
        session.add(station)
        session.flush()
        return station.id


def test_new_user_starts_with_123456_and_must_change_it(ctx, admin):
    station = add_station(ctx)
    info = users.create_user(ctx, admin, user_code="cashier1", name=" Ada  Obi ", phone="0803 000 0000",
                             role="OnlyVending", station_code="st01")
    assert (info.user_code, info.name, info.role, info.station_id, info.station_code) == (
        "cashier1", "Ada Obi", "OnlyVending", station, "ST01")
    assert info.must_change_password and info.state == "temp password"
    actor = auth.authenticate(ctx, "CASHIER1", "123456")
    assert actor.must_change_password
    assert actor.permissions == {"topup.vend", "topup.reprint", "topup.shift"}
    assert "user.create" in audit_actions(ctx, info.id)


def test_create_user_rejects_bad_input_and_duplicates(ctx, admin):
    users.create_user(ctx, admin, user_code="clerk", role="OnlyVending")
    with pytest.raises(Conflict, match="already exists"):
        users.create_user(ctx, admin, user_code="CLERK", role="OnlyVending")
    with pytest.raises(ValidationError) as error:
        users.create_user(ctx, admin, user_code="bad id!", role="OnlyVending")
    assert error.value.field == "user_code"
    with pytest.raises(ValidationError, match="no role named Nobody"):
        users.create_user(ctx, admin, user_code="x1", role="Nobody")
    with pytest.raises(ValidationError, match="no sales station"):
        users.create_user(ctx, admin, user_code="x2", role="OnlyVending", station_code="NOPE")


def test_list_users_pages_by_user_id_and_searches_by_prefix(ctx, admin):
    for code in ["b1", "b2", "c1", "a1"]:
        users.create_user(ctx, admin, user_code=code, role="OnlyVending")
    first = users.list_users(ctx, admin, limit=2)
    assert [u.user_code for u in first.rows] == ["a1", "Admin"]
    second = users.list_users(ctx, admin, limit=2, after=first.next_key)
    assert [u.user_code for u in second.rows] == ["b1", "b2"]
    third = users.list_users(ctx, admin, limit=2, after=second.next_key)
    assert [u.user_code for u in third.rows] == ["c1"] and third.next_key is None
    assert [u.user_code for u in users.list_users(ctx, admin, search="B").rows] == ["b1", "b2"]


def test_edit_user_records_what_changed(ctx, admin):
    info = users.create_user(ctx, admin, user_code="clerk", name="Old", role="OnlyVending")
    users.update_user(ctx, admin, info.id, name="New Name", phone="123", role="Administrator")
    edited = users.get_user(ctx, admin, info.id)
    assert (edited.name, edited.phone, edited.role) == ("New Name", "123", "Administrator")
    with ctx.db.read_session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.update")).one()
    assert '"role": ["OnlyVending", "Administrator"]' in entry.detail
    assert entry.user_code == "Admin"


def test_builtin_admin_cannot_be_demoted_disabled_deleted_or_reset(ctx, admin):
    other = users.create_user(ctx, admin, user_code="boss", role="Administrator")
    boss = actor_of(ctx, "boss")
    admin_user = admin_id(ctx)
    with pytest.raises(PermissionDenied, match="keeps the Administrator role"):
        users.update_user(ctx, admin, admin_user, name="Administrator", phone="", role="OnlyVending")
    with pytest.raises(PermissionDenied, match="can't be disabled"):
        users.set_enabled(ctx, admin, admin_user, False)
    with pytest.raises(PermissionDenied, match="can't be deleted"):
        users.delete_user(ctx, admin, admin_user)
    with pytest.raises(PermissionDenied, match="Only Admin"):
        users.reset_password(ctx, boss, admin_user)
    with pytest.raises(Conflict, match="Change Password"):
        users.reset_password(ctx, admin, admin_user)
    assert users.get_user(ctx, admin, admin_user).role == "Administrator"
    assert other.role == "Administrator"
    # Admin keeps every right even if its role row were thinned out.
    assert auth.authenticate(ctx, "Admin", "AdminPass1").can("system.roles")


def test_disable_blocks_login_and_enable_restores_it(ctx, admin):
    info = users.create_user(ctx, admin, user_code="clerk", role="OnlyVending")
    users.set_enabled(ctx, admin, info.id, False)
    with pytest.raises(AuthenticationFailed, match="^Wrong user ID or password, or this user may not log in now"):
        auth.authenticate(ctx, "clerk", "123456")
    users.set_enabled(ctx, admin, info.id, True)
    assert auth.authenticate(ctx, "clerk", "123456").user_code == "clerk"
    assert audit_actions(ctx, info.id).count("user.disable") == 1
    assert "user.enable" in audit_actions(ctx, info.id)


def test_nobody_disables_themselves(ctx, admin):
    users.create_user(ctx, admin, user_code="boss", role="Administrator")
    boss = actor_of(ctx, "boss")
    with pytest.raises(Conflict, match="your own account"):
        users.set_enabled(ctx, boss, boss.user_id, False)


def test_there_is_always_an_enabled_user_manager(ctx, admin):
    # Only reachable if the built-in Admin itself is disabled outside the application (the host's
    # command line still acts: it holds the database anyway).
    helper = roles.create_role(ctx, admin, name="Helpdesk", permissions=["system.users", "topup.vend"])
    one = users.create_user(ctx, admin, user_code="help1", role="Helpdesk")
    two = users.create_user(ctx, admin, user_code="help2", role="Helpdesk")
    with ctx.db.session() as session:
        session.get(User, admin_id(ctx)).enabled = False
    users.set_enabled(ctx, SYSTEM_ACTOR, one.id, False)
    with pytest.raises(Conflict, match="no enabled user who can manage users"):
        users.set_enabled(ctx, SYSTEM_ACTOR, two.id, False)
    with pytest.raises(Conflict, match="no enabled user who can manage users"):
        users.update_user(ctx, SYSTEM_ACTOR, two.id, name="", phone="", role="OnlyVending")
    with pytest.raises(Conflict, match="no enabled user who can manage users"):
        roles.update_role(ctx, SYSTEM_ACTOR, helper.id, permissions=["topup.vend"])
    assert users.get_user(ctx, SYSTEM_ACTOR, two.id).enabled


def test_five_wrong_passwords_block_that_address_and_an_admin_unlock_lifts_it(ctx, admin):
    info = users.create_user(ctx, admin, user_code="clerk", role="OnlyVending")
    for _ in range(5):
        with pytest.raises(AuthenticationFailed) as error:
            auth.authenticate(ctx, "clerk", "wrong-one", source="ssh", remote="203.0.113.9")
        assert not isinstance(error.value, AccountLocked)
    with pytest.raises(AccountLocked, match="Too many failed logins for this user ID from 203.0.113.9"):
        auth.authenticate(ctx, "clerk", "123456", source="ssh", remote="203.0.113.9")  # even the right one waits
    assert users.get_user(ctx, admin, info.id).state == "locked"
    users.unlock_user(ctx, admin, info.id)
    assert auth.authenticate(ctx, "clerk", "123456", source="ssh", remote="203.0.113.9").user_code == "clerk"
    with pytest.raises(Conflict, match="not locked"):
        users.unlock_user(ctx, admin, info.id)
    actions = audit_actions(ctx, info.id)
    assert actions.count("login_failed") == 5 and "lockout" in actions and "user.unlock" in actions


def test_reset_password_forces_a_change_at_next_login(ctx, admin):
    info = users.create_user(ctx, admin, user_code="clerk", role="OnlyVending")
    clerk = auth.authenticate(ctx, "clerk", "123456")
    auth.change_own_password(ctx, clerk, "123456", "Clerk-pass-9")
    assert not auth.authenticate(ctx, "clerk", "Clerk-pass-9").must_change_password
    users.reset_password(ctx, admin, info.id)
    with pytest.raises(AuthenticationFailed):
        auth.authenticate(ctx, "clerk", "Clerk-pass-9")
    assert auth.authenticate(ctx, "clerk", "123456").must_change_password
    clerk = actor_of(ctx, "clerk")
    auth.change_own_password(ctx, clerk, "123456", "Pay-pass-1", kind="payment")
    users.reset_password(ctx, admin, info.id, kind="payment")
    auth.verify_own_password(ctx, clerk, "123456", kind="payment")
    assert users.get_user(ctx, admin, info.id).must_change_payment_password
    actions = audit_actions(ctx, info.id)
    assert "user.password_reset" in actions and "user.payment_password_reset" in actions
    with ctx.db.read_session() as session:
        details = list(session.scalars(select(AuditEntry.detail)))
    assert not any("123456" in detail or "argon2" in detail for detail in details)


def test_operator_without_the_right_is_refused(ctx, admin):
    info = users.create_user(ctx, admin, user_code="cashier", role="OnlyVending")
    cashier = actor_of(ctx, "cashier")
    for call in (
        lambda: users.create_user(ctx, cashier, user_code="x", role="OnlyVending"),
        lambda: users.list_users(ctx, cashier),
        lambda: users.reset_password(ctx, cashier, info.id),
        lambda: users.unlock_user(ctx, cashier, info.id),
        lambda: users.set_enabled(ctx, cashier, info.id, False),
    ):
        with pytest.raises(PermissionDenied, match="cashier may not manage users"):
            call()


def test_a_sub_admin_cannot_hand_out_rights_it_lacks(ctx, admin):
    roles.create_role(ctx, admin, name="Helpdesk", permissions=["system.users", "topup.vend", "topup.reprint", "topup.shift"])
    users.create_user(ctx, admin, user_code="help", role="Helpdesk")
    boss = users.create_user(ctx, admin, user_code="boss", role="Administrator")
    helpdesk = actor_of(ctx, "help")
    clerk = users.create_user(ctx, helpdesk, user_code="clerk", role="OnlyVending")
    with pytest.raises(PermissionDenied, match="Only Admin may give the role Administrator"):
        users.create_user(ctx, helpdesk, user_code="climber", role="Administrator")
    with pytest.raises(PermissionDenied, match="Only Admin may give the role Administrator"):
        users.update_user(ctx, helpdesk, clerk.id, name="", phone="", role="Administrator")
    with pytest.raises(PermissionDenied, match="Only Admin may reset the password of boss"):
        users.reset_password(ctx, helpdesk, boss.id)
    users.reset_password(ctx, helpdesk, clerk.id)


def test_delete_only_users_without_history(ctx, admin):
    typo = users.create_user(ctx, admin, user_code="typo", role="OnlyVending")
    used = users.create_user(ctx, admin, user_code="used", role="OnlyVending")
    auth.authenticate(ctx, "used", "123456")
    with pytest.raises(Conflict, match="disable the user instead"):
        users.delete_user(ctx, admin, used.id)
    users.delete_user(ctx, admin, typo.id)
    assert [u.user_code for u in users.list_users(ctx, admin).rows] == ["Admin", "used"]
    assert "user.delete" in audit_actions(ctx, typo.id)
