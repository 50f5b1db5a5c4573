"""Role Management: permissions checklist, the Administrator role's protection, roles in use."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stron_tui.db.models import ApiAccount, AuditEntry, Role
from stron_tui.errors import Conflict, PermissionDenied, ValidationError
from stron_tui.services import auth, roles, users
from stron_tui.domain.clock import utcnow
from stron_tui.services.permissions import ALL_PERMISSIONS


def actor_of(ctx, user_code):
    with ctx.db.session() as session:
        return auth.actor_for(session, auth.find_user(session, user_code), "tui")


def role_named(ctx, admin, name):
    return next(role for role in roles.list_roles(ctx, admin) if role.name == name)


def audit_rows(ctx, action):
    with ctx.db.read_session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_seeded_roles_are_listed_with_their_holders(ctx, admin):
    listed = {role.name: role for role in roles.list_roles(ctx, admin)}
    assert set(listed) == {"Administrator", "OnlyVending"}
    assert listed["Administrator"].administrator and set(listed["Administrator"].permissions) == ALL_PERMISSIONS
    assert listed["Administrator"].users == 1
    assert listed["OnlyVending"].permissions == ("topup.vend", "topup.reprint", "topup.shift")


def test_create_rename_set_permissions_and_delete(ctx, admin):
    created = roles.create_role(ctx, admin, name="Supervisor", description="Shift lead",
                                permissions=["reports.view", "topup.vend", "exceptions.clear_tamper"])
    assert created.permissions == ("topup.vend", "exceptions.clear_tamper", "reports.view")  # catalogue order
    renamed = roles.update_role(ctx, admin, created.id, name="Shift Supervisor",
                                permissions=["reports.view", "reports.export"])
    assert (renamed.name, renamed.permissions) == ("Shift Supervisor", ("reports.view", "reports.export"))
    users.create_user(ctx, admin, user_code="lead", role="shift supervisor")
    lead = auth.authenticate(ctx, "lead", "123456")
    assert lead.permissions == {"reports.view", "reports.export"}
    assert [m.key for m in lead.visible_modules()] == ["reports"]
    update = audit_rows(ctx, "role.update")[0]
    assert '"permissions_added": ["reports.export"]' in update.detail
    assert '"exceptions.clear_tamper"' in update.detail and "Shift Supervisor" in update.summary
    roles.update_role(ctx, admin, created.id, description="unchanged permissions")
    empty = roles.create_role(ctx, admin, name="Empty")
    roles.delete_role(ctx, admin, empty.id)
    assert "Empty" not in {role.name for role in roles.list_roles(ctx, admin)}
    assert [len(audit_rows(ctx, a)) for a in ("role.create", "role.update", "role.delete")] == [2, 2, 1]


def test_names_are_unique_ignoring_case_and_checked(ctx, admin):
    with pytest.raises(Conflict, match="already exists"):
        roles.create_role(ctx, admin, name="onlyvending")
    with pytest.raises(ValidationError, match="Enter a role name"):
        roles.create_role(ctx, admin, name="   ")
    with pytest.raises(ValidationError, match="no permission called topup.fly"):
        roles.create_role(ctx, admin, name="X", permissions=["topup.fly"])


def test_role_in_use_cannot_be_deleted(ctx, admin):
    vending = role_named(ctx, admin, "OnlyVending")
    users.create_user(ctx, admin, user_code="c1", role="OnlyVending")
    with pytest.raises(Conflict, match="given to 1 user;"):
        roles.delete_role(ctx, admin, vending.id)
    partner = roles.create_role(ctx, admin, name="Partner", permissions=["topup.vend"])
    with ctx.db.session() as session:
        session.add(ApiAccount(name="Bank", name_key="bank", role_id=partner.id, key_prefix="abc",
                               key_hash="x", created_at=utcnow()))
    with pytest.raises(Conflict, match="1 API account"):
        roles.delete_role(ctx, admin, partner.id)
    assert role_named(ctx, admin, "Partner").in_use


def test_administrator_role_cannot_be_reduced_renamed_or_deleted(ctx, admin):
    administrator = role_named(ctx, admin, "Administrator")
    with pytest.raises(PermissionDenied, match="can't be reduced"):
        roles.update_role(ctx, admin, administrator.id, permissions=ALL_PERMISSIONS - {"system.users"})
    with pytest.raises(PermissionDenied, match="keeps its name"):
        roles.update_role(ctx, admin, administrator.id, name="Root")
    with pytest.raises(PermissionDenied, match="can't be deleted"):
        roles.delete_role(ctx, admin, administrator.id)
    roles.update_role(ctx, admin, administrator.id, description="All rights", permissions=ALL_PERMISSIONS)
    with ctx.db.read_session() as session:
        assert session.get(Role, administrator.id).name == "Administrator"
    assert set(role_named(ctx, admin, "Administrator").permissions) == ALL_PERMISSIONS


def test_roles_need_the_right_and_grant_no_more_than_held(ctx, admin):
    users.create_user(ctx, admin, user_code="cashier", role="OnlyVending")
    cashier = actor_of(ctx, "cashier")
    with pytest.raises(PermissionDenied, match="may not manage roles"):
        roles.create_role(ctx, cashier, name="Mine", permissions=["topup.vend"])
    with pytest.raises(PermissionDenied, match="may not manage roles"):
        roles.list_roles(ctx, cashier)
    keeper = roles.create_role(ctx, admin, name="RoleKeeper", permissions=["system.roles", "topup.vend"])
    users.create_user(ctx, admin, user_code="keeper", role="RoleKeeper")
    actor = actor_of(ctx, "keeper")
    roles.create_role(ctx, actor, name="Till", permissions=["topup.vend"])
    with pytest.raises(PermissionDenied, match="rights you don't hold"):
        roles.create_role(ctx, actor, name="Sneaky", permissions=["system.users"])
    with pytest.raises(PermissionDenied, match="rights you don't hold"):
        roles.update_role(ctx, actor, keeper.id, permissions=["system.roles", "topup.vend", "system.audit"])
    with pytest.raises(PermissionDenied, match="Only Admin may change the role Administrator"):
        roles.update_role(ctx, actor, role_named(ctx, admin, "Administrator").id, description="mine")
