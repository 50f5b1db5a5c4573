"""Who may hand out which rights: the one rule behind every door that attaches credentials or rights.

Users (create, role change, edit, enable, password reset, delete), roles
(create, edit, delete), SSH public keys (add, list, remove) and API accounts
(create, role change, key rotation, enable, edit) all ask here:

- only the built-in Admin touches Admin: the built-in Admin user and any
  Administrator-level role (the Administrator role, or any role that holds
  every permission), and whatever holds one;
- anyone else hands out, and manages holders of, only rights it holds itself,
  read live from the database (a right removed a moment ago is not held).

The host's command line (no user, no API account) holds the database already
and may do anything.
"""

from __future__ import annotations

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from stron_tui.db.models import ApiAccount, Role, RolePermission, User
from stron_tui.errors import PermissionDenied
from stron_tui.services.live_rights import ADMIN_ROLE_KEY, current_permissions, is_host
from stron_tui.services.permissions import ALL_PERMISSIONS, PERMISSIONS, Actor


USERS, ROLES, API_ACCOUNTS = "system.users", "system.roles", "system.api_accounts"


def role_permissions(session: Session, role_id: int) -> frozenset[str]:
    """The permissions stored for a role (the Administrator role: every one)."""
    if is_administrator_role(session, role_id, frozenset()):
        return ALL_PERMISSIONS
    return frozenset(session.scalars(select(RolePermission.permission).where(RolePermission.role_id == role_id)))


def is_administrator_role(session: Session, role_id: int, permissions: frozenset[str] | None = None) -> bool:
    """The Administrator role, the built-in Admin's role, or any role holding every permission."""
    role = session.get(Role, role_id)
    if role is not None and role.builtin and role.name_key == ADMIN_ROLE_KEY:
        return True
    if session.scalar(select(User.id).where(User.builtin_admin == true(), User.role_id == role_id)) is not None:
        return True
    if permissions is None:
        permissions = frozenset(session.scalars(select(RolePermission.permission)
                                                .where(RolePermission.role_id == role_id)))
    return ALL_PERMISSIONS <= permissions


def _is_admin(actor: Actor) -> bool:
    return actor.builtin_admin and (actor.user_id is not None or is_host(actor))


def _held(session: Session, actor: Actor, right: str) -> frozenset[str]:
    """The actor's permissions now, which must still include `right`, the one the door asks for."""
    held = current_permissions(session, actor)  # also refuses a disabled or locked actor
    if right not in held:
        raise PermissionDenied(f"{actor.user_code} may no longer {PERMISSIONS[right]}; nothing was changed.")
    return held


def require_may_grant(session: Session, actor: Actor, permissions: frozenset[str], what: str, *, right: str,
                      administrator: bool = False) -> None:
    """Refuse `what` unless the actor may hand out `permissions` (Administrator-level: Admin only).

    `right` is the permission the door itself needs (e.g. system.users), re-read like the rest.
    """
    if is_host(actor):
        return
    held = _held(session, actor, right)
    if administrator or ALL_PERMISSIONS <= permissions:
        if not _is_admin(actor):
            raise PermissionDenied(f"Only Admin may {what}: it carries Administrator rights.")
        return
    missing = sorted((permissions & ALL_PERMISSIONS) - held, key=list(PERMISSIONS).index)
    if missing:
        named = "; ".join(PERMISSIONS[code] for code in missing[:3]) + ("; ..." if len(missing) > 3 else "")
        raise PermissionDenied(f"You may not {what}: it carries rights you don't hold yourself ({named}).")


def require_may_grant_role(session: Session, actor: Actor, role_id: int, what: str, *, right: str) -> None:
    """Refuse `what` unless the actor may give (or manage a holder of) the role."""
    permissions = role_permissions(session, role_id)
    require_may_grant(session, actor, permissions, what, right=right,
                      administrator=is_administrator_role(session, role_id, permissions))


def require_may_manage_user(session: Session, actor: Actor, user: User, what: str) -> None:
    """Refuse `what` (e.g. "reset the password of") on `user` unless the actor may manage that user."""
    if user.builtin_admin:
        if not (is_host(actor) or _is_admin(actor)):
            raise PermissionDenied(f"Only Admin may {what} the built-in Admin.")
        if not is_host(actor):
            _held(session, actor, USERS)  # Admin too must still be enabled and unlocked
        return
    require_may_grant_role(session, actor, user.role_id, f"{what} {user.user_code}", right=USERS)


def require_may_manage_api_account(session: Session, actor: Actor, account: ApiAccount, what: str) -> None:
    """Refuse `what` (e.g. "rotate the key of") on an API account whose role the actor may not give."""
    require_may_grant_role(session, actor, account.role_id, f"{what} the API account {account.name}",
                           right=API_ACCOUNTS)
