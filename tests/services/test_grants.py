"""No operator grants or reaches rights it does not hold, by any door that attaches credentials or rights.

Each door is tried by a manager with a narrow role: SSH keys (attach, list, remove), API accounts
(create, change role, rotate, enable), users and roles. Each refusal says why and changes nothing.
"""

from __future__ import annotations

import asyncssh
import pytest
from sqlalchemy import func, select

from stron_tui.db.models import ApiAccount, Role, User, UserPublicKey
from stron_tui.errors import PermissionDenied
from stron_tui.services import api_accounts, auth, public_keys, roles, users
from stron_tui.services.permissions import ALL_PERMISSIONS, SYSTEM_ACTOR


def actor_of(ctx, user_code):
    with ctx.db.session() as session:
        return auth.actor_for(session, auth.find_user(session, user_code), "tui")


def new_public_key() -> str:
    return asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()


def key_count(ctx) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(UserPublicKey))


def account_rows(ctx) -> list[tuple]:
    with ctx.db.read_session() as session:
        return [(row.name, row.role_id, row.key_hash, row.enabled, row.station_id, row.rate_limit_per_minute)
                for row in session.scalars(select(ApiAccount).order_by(ApiAccount.id))]


@pytest.fixture
def managers(ctx, admin):
    """A user manager, an API-account manager, a deputy holding every right (not Admin), a cashier."""
    roles.create_role(ctx, admin, name="UserManager", permissions=["system.users", "topup.vend", "topup.reprint",
                                                                     "topup.shift"])
    roles.create_role(ctx, admin, name="ApiManager", permissions=["system.api_accounts", "topup.vend",
                                                                    "topup.reprint", "topup.shift"])
    roles.create_role(ctx, admin, name="RoleManager", permissions=["system.roles", "topup.vend", "system.audit"])
    roles.create_role(ctx, admin, name="Auditor", permissions=["system.audit", "topup.vend"])
    roles.create_role(ctx, admin, name="Deputy", permissions=sorted(ALL_PERMISSIONS))
    for code, role in (("usermgr", "UserManager"), ("apimgr", "ApiManager"), ("rolemgr", "RoleManager"),
                       ("auditor", "Auditor"), ("deputy", "Deputy"), ("boss", "Administrator"),
                       ("clerk", "OnlyVending")):
        users.create_user(ctx, admin, user_code=code, role=role)
    return {code: actor_of(ctx, code) for code in ("usermgr", "apimgr", "rolemgr", "deputy", "boss")}


# SSH public keys -------------------------------------------------------------------------------

def test_a_user_manager_cannot_attach_its_key_to_admin_or_to_anyone_with_more_rights(ctx, managers):
    usermgr = managers["usermgr"]
    for target, refusal in (("admin", "Only Admin may attach an SSH key to the built-in Admin"),
                            ("boss", "Only Admin may attach an SSH key to boss"),
                            ("deputy", "Only Admin may attach an SSH key to deputy"),
                            ("auditor", "may not attach an SSH key to auditor: .*view the audit trail")):
        with pytest.raises(PermissionDenied, match=refusal):
            public_keys.add_key(ctx, usermgr, target, new_public_key(), "mine")
    assert key_count(ctx) == 0
    public_keys.add_key(ctx, usermgr, "clerk", new_public_key(), "front desk")  # rights it holds: allowed
    assert key_count(ctx) == 1


def test_a_user_manager_cannot_list_or_remove_the_keys_of_admin(ctx, admin, managers):
    usermgr = managers["usermgr"]
    added = public_keys.add_key(ctx, admin, "admin", new_public_key(), "Admin's laptop")
    with pytest.raises(PermissionDenied, match="Only Admin may list the SSH keys of the built-in Admin"):
        public_keys.list_keys(ctx, usermgr, "admin")
    with pytest.raises(PermissionDenied, match="Only Admin may remove an SSH key of the built-in Admin"):
        public_keys.remove_key(ctx, usermgr, added.id)
    assert [key.fingerprint for key in public_keys.list_keys(ctx, admin, "admin")] == [added.fingerprint]


def test_admin_and_the_host_command_line_manage_every_key(ctx, admin, managers):
    added = public_keys.add_key(ctx, admin, "boss", new_public_key(), "")
    public_keys.add_key(ctx, SYSTEM_ACTOR, "admin", new_public_key(), "")
    public_keys.remove_key(ctx, admin, added.id)
    assert key_count(ctx) == 1


# API accounts ------------------------------------------------------------------------------------

def test_an_api_account_manager_cannot_create_an_account_with_more_rights(ctx, managers):
    apimgr = managers["apimgr"]
    for role, refusal in (("Administrator", "Only Admin may create an API account with the role Administrator"),
                          ("Deputy", "Only Admin may create an API account with the role Deputy"),
                          ("UserManager", "may not create an API account with the role UserManager: .*manage users")):
        with pytest.raises(PermissionDenied, match=refusal):
            api_accounts.create_account(ctx, apimgr, name=f"Partner {role}", role=role)
    assert account_rows(ctx) == []
    api_accounts.create_account(ctx, apimgr, name="Mobile Money", role="OnlyVending")
    assert [row[0] for row in account_rows(ctx)] == ["Mobile Money"]


def test_an_api_account_manager_cannot_raise_rotate_or_enable_an_account_above_itself(ctx, admin, managers):
    apimgr = managers["apimgr"]
    mine = api_accounts.create_account(ctx, apimgr, name="Mobile Money", role="OnlyVending").account
    strong = api_accounts.create_account(ctx, admin, name="Back Office", role="Administrator", enabled=False)
    before = account_rows(ctx)
    with pytest.raises(PermissionDenied, match="Only Admin may give the role Administrator to the API account"):
        api_accounts.update_account(ctx, apimgr, mine.id, role="Administrator")
    with pytest.raises(PermissionDenied, match="may not give the role UserManager .*manage users"):
        api_accounts.update_account(ctx, apimgr, mine.id, role="UserManager")
    with pytest.raises(PermissionDenied, match="Only Admin may rotate the key of the API account Back Office"):
        api_accounts.rotate_key(ctx, apimgr, strong.account.id)
    with pytest.raises(PermissionDenied, match="Only Admin may change the API account Back Office"):
        api_accounts.set_enabled(ctx, apimgr, strong.account.id, True)
    with pytest.raises(PermissionDenied, match="Only Admin may change the API account Back Office"):
        api_accounts.update_account(ctx, apimgr, strong.account.id, role="OnlyVending")
    assert account_rows(ctx) == before
    with pytest.raises(Exception):
        api_accounts.authenticate(ctx, strong.api_key)  # still disabled
    api_accounts.rotate_key(ctx, apimgr, mine.id)  # its own kind of account: allowed


# Users and roles ---------------------------------------------------------------------------------

def test_nobody_but_admin_hands_out_administrator_rights_even_holding_every_right(ctx, managers):
    deputy = managers["deputy"]
    clerk_id = actor_of(ctx, "clerk").user_id
    with pytest.raises(PermissionDenied, match="Only Admin may create the role Everything"):
        roles.create_role(ctx, deputy, name="Everything", permissions=sorted(ALL_PERMISSIONS))
    with pytest.raises(PermissionDenied, match="Only Admin may give the role Deputy"):
        users.update_user(ctx, deputy, clerk_id, name="", phone="", role="Deputy")
    with pytest.raises(PermissionDenied, match="Only Admin may reset the password of boss"):
        users.reset_password(ctx, deputy, actor_of(ctx, "boss").user_id)
    with ctx.db.read_session() as session:
        assert session.scalar(select(Role.id).where(Role.name == "Everything")) is None
        clerk = session.get(User, clerk_id)
        assert clerk.role_id == session.scalar(select(Role.id).where(Role.name == "OnlyVending"))
    roles.create_role(ctx, deputy, name="Till", permissions=["topup.vend"])  # less than all: allowed


def test_a_user_manager_cannot_unlock_or_edit_users_with_more_rights(ctx, managers):
    usermgr = managers["usermgr"]
    auditor = actor_of(ctx, "auditor")
    with pytest.raises(PermissionDenied, match="may not edit auditor: .*view the audit trail"):
        users.update_user(ctx, usermgr, auditor.user_id, name="Renamed", phone="", role="Auditor")
    with pytest.raises(PermissionDenied, match="Only Admin may unlock the built-in Admin"):
        users.unlock_user(ctx, usermgr, actor_of(ctx, "admin").user_id)
    with ctx.db.read_session() as session:
        assert session.get(User, auditor.user_id).name == ""


def test_rights_are_those_held_now_not_at_login(ctx, admin, managers):
    rolemgr = managers["rolemgr"]  # holds system.audit at login
    role = next(r for r in roles.list_roles(ctx, admin) if r.name == "RoleManager")
    roles.update_role(ctx, admin, role.id, permissions=["system.roles", "topup.vend"])
    with pytest.raises(PermissionDenied, match="rights you don't hold yourself .*view the audit trail"):
        roles.create_role(ctx, rolemgr, name="Audit", permissions=["system.audit"])
    users.set_enabled(ctx, admin, rolemgr.user_id, False)
    with pytest.raises(PermissionDenied, match="rolemgr is disabled"):
        roles.create_role(ctx, rolemgr, name="Till", permissions=["topup.vend"])
    assert {r.name for r in roles.list_roles(ctx, admin)}.isdisjoint({"Audit", "Till"})


def test_a_manager_whose_role_lost_the_managing_right_manages_nothing_more(ctx, admin, managers):
    usermgr, apimgr = managers["usermgr"], managers["apimgr"]
    mine = api_accounts.create_account(ctx, apimgr, name="Mobile Money", role="OnlyVending").account
    before = account_rows(ctx)
    for name, kept in (("UserManager", ["topup.vend", "topup.reprint", "topup.shift"]),
                       ("ApiManager", ["topup.vend", "topup.reprint", "topup.shift"])):
        role = next(r for r in roles.list_roles(ctx, admin) if r.name == name)
        roles.update_role(ctx, admin, role.id, permissions=kept)
    with pytest.raises(PermissionDenied, match="usermgr may no longer manage users; nothing was changed"):
        users.create_user(ctx, usermgr, user_code="friend", role="OnlyVending")
    with pytest.raises(PermissionDenied, match="usermgr may no longer manage users"):
        public_keys.add_key(ctx, usermgr, "clerk", new_public_key(), "")
    with pytest.raises(PermissionDenied, match="apimgr may no longer manage API accounts"):
        api_accounts.rotate_key(ctx, apimgr, mine.id)
    with ctx.db.read_session() as session:
        assert session.scalar(select(User.id).where(User.user_code == "friend")) is None
    assert account_rows(ctx) == before and key_count(ctx) == 0
