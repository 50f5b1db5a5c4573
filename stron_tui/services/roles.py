"""Roles: named sets of permissions given to users and API accounts.

The Administrator role (the built-in Admin's) keeps every permission and its
name. A role still given to a user or an API account can't be deleted.
Sales, management tokens, reprints and rights handed out re-read the holder's
permissions live (see live_rights), so a reduced role takes effect at once
there; menus follow at the holder's next login.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from stron_tui.db.models import ApiAccount, Role, RolePermission, User
from stron_tui.db.queries import for_update
from stron_tui.errors import Conflict, NotFound, PermissionDenied, ValidationError
from stron_tui.services import audit
from stron_tui.services.bootstrap import ADMIN_ROLE
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import ALL_PERMISSIONS, PERMISSIONS, Actor
from stron_tui.domain.text import clean, fold
from stron_tui.services.grants import ROLES, require_may_grant, require_may_grant_role, role_permissions
from stron_tui.services.users import ensure_user_manager_remains


@dataclass(frozen=True)
class RoleInfo:
    id: int
    name: str
    description: str
    builtin: bool
    administrator: bool
    permissions: tuple[str, ...]  # in catalogue order
    users: int
    api_accounts: int

    @property
    def in_use(self) -> bool:
        return bool(self.users or self.api_accounts)


def _require_view(actor: Actor) -> None:
    # User Management picks roles from this list, so either right may read it.
    if not actor.can("system.users"):
        actor.require("system.roles")


def _is_administrator(session: Session, role: Role) -> bool:
    if role.builtin and role.name_key == fold(ADMIN_ROLE):
        return True
    admin_role = session.scalar(select(User.role_id).where(User.builtin_admin.is_(True)))
    return admin_role == role.id


def _ordered(permissions) -> tuple[str, ...]:
    return tuple(code for code in PERMISSIONS if code in set(permissions))


def _info(session: Session, role: Role) -> RoleInfo:
    administrator = _is_administrator(session, role)
    users = session.scalar(select(func.count()).select_from(User).where(User.role_id == role.id)) or 0
    accounts = session.scalar(select(func.count()).select_from(ApiAccount).where(ApiAccount.role_id == role.id)) or 0
    permissions = ALL_PERMISSIONS if administrator else role_permissions(session, role.id)
    return RoleInfo(role.id, role.name, role.description, role.builtin, administrator, _ordered(permissions),
                    users, accounts)


def _clean_name(name: str) -> str:
    text = clean(name)
    if not text:
        raise ValidationError("Enter a role name.", field="name")
    if len(text) > 60:
        raise ValidationError("A role name has at most 60 characters.", field="name")
    return text


def _clean_description(description: str) -> str:
    text = clean(description)
    if len(text) > 200:
        raise ValidationError("A description has at most 200 characters.", field="description")
    return text


def _checked_permissions(permissions) -> frozenset[str]:
    chosen = frozenset(permissions)
    unknown = sorted(chosen - ALL_PERMISSIONS)
    if unknown:
        raise ValidationError(f"There is no permission called {unknown[0]}.", field="permissions")
    return chosen


def _name_free(session: Session, name: str, role_id: int | None = None) -> None:
    existing = session.scalar(select(Role.id).where(Role.name_key == fold(name)))
    if existing is not None and existing != role_id:
        raise Conflict(f"A role named {name} already exists.")


def _locked_role(session: Session, role_id: int) -> Role:
    role = session.scalar(for_update(select(Role).where(Role.id == role_id), Role))
    if role is None:
        raise NotFound("That role no longer exists.")
    return role


def list_roles(ctx: AppContext, actor: Actor) -> list[RoleInfo]:
    """Every role in name order (roles are few: dozens, not thousands)."""
    _require_view(actor)
    with ctx.db.read_session() as session:
        return [_info(session, role) for role in session.scalars(select(Role).order_by(Role.name_key))]


def get_role(ctx: AppContext, actor: Actor, role_id: int) -> RoleInfo:
    _require_view(actor)
    with ctx.db.read_session() as session:
        role = session.get(Role, role_id)
        if role is None:
            raise NotFound("That role no longer exists.")
        return _info(session, role)


def create_role(ctx: AppContext, actor: Actor, *, name: str, description: str = "",
                permissions=()) -> RoleInfo:
    actor.require("system.roles")
    name = _clean_name(name)
    description = _clean_description(description)
    chosen = _checked_permissions(permissions)
    with ctx.db.session() as session:
        require_may_grant(session, actor, chosen, f"create the role {name}", right=ROLES)
        _name_free(session, name)
        role = Role(name=name, name_key=fold(name), description=description, builtin=False, created_at=utcnow())
        session.add(role)
        session.flush()
        session.add_all(RolePermission(role_id=role.id, permission=code) for code in sorted(chosen))
        session.flush()
        audit.record(session, actor, "role.create", entity="role", entity_id=role.id,
                     summary=f"created role {name} with {len(chosen)} permissions",
                     detail={"name": name, "description": description, "permissions": list(_ordered(chosen))})
        return _info(session, role)


def update_role(ctx: AppContext, actor: Actor, role_id: int, *, name: str | None = None,
                description: str | None = None, permissions=None) -> RoleInfo:
    """Rename a role, change its description and/or replace its permissions (None leaves a part as is)."""
    actor.require("system.roles")
    with ctx.db.session() as session:
        role = _locked_role(session, role_id)
        administrator = _is_administrator(session, role)
        current = role_permissions(session, role.id)
        require_may_grant_role(session, actor, role.id, f"change the role {role.name}", right=ROLES)
        before = {"name": role.name, "description": role.description}
        if name is not None:
            new_name = _clean_name(name)
            if new_name != role.name and administrator:
                raise PermissionDenied(f"The {role.name} role keeps its name.")
            _name_free(session, new_name, role.id)
            role.name, role.name_key = new_name, fold(new_name)
        if description is not None:
            role.description = _clean_description(description)
        detail = audit.changes(before, {"name": role.name, "description": role.description})
        if permissions is not None:
            chosen = _checked_permissions(permissions)
            if administrator and chosen != ALL_PERMISSIONS:
                raise PermissionDenied(f"The {role.name} role keeps every permission; it can't be reduced.")
            added, removed = chosen - current, current - chosen
            require_may_grant(session, actor, chosen, f"give the role {role.name} those permissions",
                              right=ROLES)
            if added or removed:
                session.execute(delete(RolePermission).where(RolePermission.role_id == role.id,
                                                             RolePermission.permission.in_(sorted(removed))))
                session.add_all(RolePermission(role_id=role.id, permission=code) for code in sorted(added))
                detail["permissions_added"] = list(_ordered(added))
                detail["permissions_removed"] = list(_ordered(removed))
                if removed:
                    ensure_user_manager_remains(session)
        if detail:
            session.flush()
            audit.record(session, actor, "role.update", entity="role", entity_id=role.id,
                         summary=f"changed role {role.name} ({', '.join(detail)})", detail=detail)
        return _info(session, role)


def delete_role(ctx: AppContext, actor: Actor, role_id: int) -> None:
    actor.require("system.roles")
    with ctx.db.session() as session:
        role = _locked_role(session, role_id)
        if _is_administrator(session, role):
            raise PermissionDenied(f"The {role.name} role can't be deleted.")
        require_may_grant_role(session, actor, role.id, f"delete the role {role.name}", right=ROLES)
        info = _info(session, role)
        if info.in_use:
            holders = []
            if info.users:
                holders.append(f"{info.users} user{'s' if info.users != 1 else ''}")
            if info.api_accounts:
                holders.append(f"{info.api_accounts} API account{'s' if info.api_accounts != 1 else ''}")
            raise Conflict(f"The role {role.name} is given to {' and '.join(holders)}; "
                           "give them another role first.")
        session.execute(delete(RolePermission).where(RolePermission.role_id == role.id))
        session.delete(role)
        audit.record(session, actor, "role.delete", entity="role", entity_id=role_id,
                     summary=f"deleted role {info.name}",
                     detail={"name": info.name, "permissions": list(info.permissions)})
