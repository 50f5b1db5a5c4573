"""Operators (sub-accounts): create, edit, disable, unlock and reset passwords.

Two rules protect the installation from its own administrators:
- the built-in Admin keeps every right: it can't be disabled, deleted or given
  another role, and nobody else resets its password;
- there is always at least one enabled user who can manage users.
An operator who is not the built-in Admin may only hand out, or manage users
holding, rights they hold themselves (no climbing through a sub-account); the
rule lives in `grants`, shared with roles, SSH keys and API accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from stron_tui.db.models import AuditEntry, Role, RolePermission, SalesStation, User
from stron_tui.db.queries import Page, for_update, keyset_page, prefix_match
from stron_tui.errors import Conflict, NotFound, PermissionDenied, ValidationError
from stron_tui.services import audit, grants, login_throttle
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.passwords import DEFAULT_PASSWORD, hash_password
from stron_tui.services.permissions import Actor
from stron_tui.domain.text import clean, fold

USER_MANAGER_PERMISSION = "system.users"


@dataclass(frozen=True)
class UserInfo:
    id: int
    user_code: str
    name: str
    phone: str
    role: str
    station_id: int | None
    enabled: bool
    builtin_admin: bool
    must_change_password: bool
    locked: bool
    role_id: int = 0
    station_code: str = ""
    locked_until: datetime | None = None
    last_login_at: datetime | None = None
    must_change_payment_password: bool = False

    @property
    def state(self) -> str:
        """One word for lists: what stops this user working, if anything."""
        if not self.enabled:
            return "disabled"
        if self.locked:
            return "locked"
        if self.must_change_password:
            return "temp password"
        return "active"


def _info(session: Session, user: User, throttled: bool | None = None) -> UserInfo:
    """`throttled`: whether some address is blocked for this user ID now (looked up if not given)."""
    if throttled is None:
        throttled = bool(login_throttle.blocked_user_keys(session, [user.user_key]))
    role = session.get(Role, user.role_id)
    station = session.get(SalesStation, user.station_id) if user.station_id is not None else None
    return UserInfo(
        id=user.id,
        user_code=user.user_code,
        name=user.name,
        phone=user.phone,
        role=role.name if role else "",
        station_id=user.station_id,
        enabled=user.enabled,
        builtin_admin=user.builtin_admin,
        must_change_password=user.must_change_password,
        locked=(user.locked_until is not None and user.locked_until > utcnow()) or throttled,
        role_id=user.role_id,
        station_code=station.code if station else "",
        locked_until=user.locked_until,
        last_login_at=user.last_login_at,
        must_change_payment_password=user.must_change_payment_password,
    )


def _snapshot(session: Session, user: User) -> dict:
    role = session.get(Role, user.role_id)
    return {"name": user.name, "phone": user.phone, "role": role.name if role else "",
            "station_id": user.station_id, "enabled": user.enabled}


def validate_user_code(user_code: str) -> str:
    code = clean(user_code)
    if not code:
        raise ValidationError("Enter a user ID.", field="user_code")
    if len(code) > 40:
        raise ValidationError("A user ID has at most 40 characters.", field="user_code")
    if not all(ch.isalnum() or ch in "._-@" for ch in code):
        raise ValidationError("A user ID may use letters, digits and . _ - @ only.", field="user_code")
    return code


def _clean_field(value: str, limit: int, field: str, label: str) -> str:
    text = clean(value)
    if len(text) > limit:
        raise ValidationError(f"The {label} has at most {limit} characters.", field=field)
    return text


# Rules ----------------------------------------------------------------------

def ensure_user_manager_remains(session: Session) -> None:
    """Refuse (Conflict) a change that leaves no enabled user who can manage users.

    Call after the change is applied in `session`; raising rolls it back.
    """
    session.flush()
    managers = session.scalar(
        select(func.count()).select_from(User).where(
            User.enabled.is_(True),
            or_(
                User.builtin_admin.is_(True),
                User.role_id.in_(
                    select(RolePermission.role_id).where(RolePermission.permission == USER_MANAGER_PERMISSION)
                ),
            ),
        )
    )
    if not managers:
        raise Conflict("That would leave no enabled user who can manage users; the change was not made.")


def _role_by_name(session: Session, role: str) -> Role:
    name = clean(role)
    if not name:
        raise ValidationError("Choose a role.", field="role")
    role_row = session.scalar(select(Role).where(Role.name_key == fold(name)))
    if role_row is None:
        raise ValidationError(f"There is no role named {name}.", field="role")
    return role_row


def _station_id(session: Session, station_id: int | None, station_code: str | None) -> int | None:
    if station_code is not None and clean(station_code):
        code = clean(station_code)
        found = session.scalar(select(SalesStation.id).where(SalesStation.code_key == fold(code)))
        if found is None:
            raise ValidationError(f"There is no sales station with code {code}.", field="station")
        return found
    if station_id is not None and session.get(SalesStation, station_id) is None:
        raise ValidationError(f"There is no sales station with id {station_id}.", field="station")
    return station_id


def _locked_user(session: Session, user_id: int) -> User:
    user = session.scalar(for_update(select(User).where(User.id == user_id), User))
    if user is None:
        raise NotFound("That user no longer exists.")
    return user


def _require_may_manage(session: Session, actor: Actor, user: User, what: str) -> None:
    grants.require_may_manage_user(session, actor, user, what)


# Reading --------------------------------------------------------------------

def list_users(ctx: AppContext, actor: Actor, *, search: str = "", after: tuple | None = None,
               limit: int = 50) -> Page:
    """A page of users in user ID order; `search` matches the start of the user ID."""
    actor.require(USER_MANAGER_PERMISSION)
    query = select(User)
    key = fold(search)
    if key:
        query = query.where(prefix_match(User.user_key, key))
    query, to_page = keyset_page(query, [User.user_key], after=after, limit=limit, key_of=lambda u: (u.user_key,))
    with ctx.db.read_session() as session:
        page = to_page(list(session.scalars(query)))
        throttled = login_throttle.blocked_user_keys(session, [user.user_key for user in page.rows])
        return Page([_info(session, user, user.user_key in throttled) for user in page.rows], page.next_key)


def get_user(ctx: AppContext, actor: Actor, user_id: int) -> UserInfo:
    actor.require(USER_MANAGER_PERMISSION)
    with ctx.db.read_session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("That user no longer exists.")
        return _info(session, user)


# Changing -------------------------------------------------------------------

def create_user(
    ctx: AppContext,
    actor: Actor,
    *,
    user_code: str,
    name: str = "",
    phone: str = "",
    role: str,
    station_id: int | None = None,
    station_code: str | None = None,
) -> UserInfo:
    """A new sub-account with the temporary password 123456, to be changed at first login."""
    actor.require(USER_MANAGER_PERMISSION)
    code = validate_user_code(user_code)
    name = _clean_field(name, 100, "name", "name")
    phone = _clean_field(phone, 40, "phone", "phone number")
    with ctx.db.session() as session:
        if session.scalar(select(User.id).where(User.user_key == fold(code))) is not None:
            raise Conflict(f"A user with ID {code} already exists.")
        role_row = _role_by_name(session, role)
        grants.require_may_grant_role(session, actor, role_row.id, f"give the role {role_row.name}",
                                      right=grants.USERS)
        station = _station_id(session, station_id, station_code)
        temporary = hash_password(DEFAULT_PASSWORD)
        user = User(
            user_code=code,
            user_key=fold(code),
            name=name,
            phone=phone,
            role_id=role_row.id,
            station_id=station,
            password_hash=temporary,
            payment_password_hash=temporary,
            must_change_password=True,
            must_change_payment_password=True,
            created_at=utcnow(),
        )
        session.add(user)
        session.flush()
        audit.record(session, actor, "user.create", entity="user", entity_id=user.id,
                     summary=f"created user {code} with role {role_row.name}",
                     detail={"user_code": code, "name": user.name, "phone": user.phone, "role": role_row.name,
                             "station_id": station})
        return _info(session, user)


def update_user(
    ctx: AppContext,
    actor: Actor,
    user_id: int,
    *,
    name: str,
    phone: str,
    role: str,
    station_id: int | None = None,
    station_code: str | None = None,
) -> UserInfo:
    """Edit a user's name, phone, role and sales station (the user ID stays)."""
    actor.require(USER_MANAGER_PERMISSION)
    name = _clean_field(name, 100, "name", "name")
    phone = _clean_field(phone, 40, "phone", "phone number")
    with ctx.db.session() as session:
        user = _locked_user(session, user_id)
        before = _snapshot(session, user)
        role_row = _role_by_name(session, role)
        if role_row.id != user.role_id:
            if user.builtin_admin:
                raise PermissionDenied("The built-in Admin keeps the Administrator role; it can't be given another.")
            _require_may_manage(session, actor, user, "change the role of")
            grants.require_may_grant_role(session, actor, role_row.id, f"give the role {role_row.name}",
                                      right=grants.USERS)
        else:
            _require_may_manage(session, actor, user, "edit")
        user.name = name
        user.phone = phone
        user.role_id = role_row.id
        user.station_id = _station_id(session, station_id, station_code)
        after = _snapshot(session, user)
        changed = audit.changes(before, after)
        if changed:
            ensure_user_manager_remains(session)
            audit.record(session, actor, "user.update", entity="user", entity_id=user.id,
                         summary=f"edited user {user.user_code} ({', '.join(changed)})", detail=changed)
        return _info(session, user)


def set_enabled(ctx: AppContext, actor: Actor, user_id: int, enabled: bool) -> UserInfo:
    """Disable (no more logins) or enable a user; the built-in Admin can't be disabled."""
    actor.require(USER_MANAGER_PERMISSION)
    with ctx.db.session() as session:
        user = _locked_user(session, user_id)
        if user.enabled == enabled:
            return _info(session, user)
        if not enabled:
            if user.builtin_admin:
                raise PermissionDenied("The built-in Admin can't be disabled.")
            if user.id == actor.user_id:
                raise Conflict("You can't disable your own account.")
        _require_may_manage(session, actor, user, "disable" if not enabled else "enable")
        user.enabled = enabled
        if not enabled:
            ensure_user_manager_remains(session)
        word = "enabled" if enabled else "disabled"
        audit.record(session, actor, "user.enable" if enabled else "user.disable", entity="user",
                     entity_id=user.id, summary=f"{word} user {user.user_code}",
                     detail={"enabled": [not enabled, enabled]})
        return _info(session, user)


def unlock_user(ctx: AppContext, actor: Actor, user_id: int) -> UserInfo:
    """Lift a lockout (the password stays as it is): the user's own lock after wrong passwords in a
    session, and every address's login block for this user ID."""
    actor.require(USER_MANAGER_PERMISSION)
    with ctx.db.session() as session:
        user = _locked_user(session, user_id)
        _require_may_manage(session, actor, user, "unlock")
        was_locked = user.locked_until is not None and user.locked_until > utcnow()
        cleared = login_throttle.clear_user(session, user.user_key)
        if not was_locked and user.failed_logins == 0 and not cleared:
            raise Conflict(f"User {user.user_code} is not locked.")
        detail = {"locked_until": user.locked_until, "failed_logins": user.failed_logins,
                  "address_blocks_cleared": cleared}
        user.locked_until = None
        user.failed_logins = 0
        audit.record(session, actor, "user.unlock", entity="user", entity_id=user.id,
                     summary=f"unlocked user {user.user_code}", detail=detail)
        return _info(session, user, False)


def unlock_user_named(ctx: AppContext, actor: Actor, user_code: str) -> UserInfo:
    """`unlock_user` by user ID as typed (the command line's door)."""
    actor.require(USER_MANAGER_PERMISSION)
    with ctx.db.read_session() as session:
        user_id = session.scalar(select(User.id).where(User.user_key == fold(clean(user_code))))
    if user_id is None:
        raise NotFound(f"There is no user {clean(user_code)!r}.")
    return unlock_user(ctx, actor, user_id)


def reset_password(ctx: AppContext, actor: Actor, user_id: int, *, kind: str = "login") -> UserInfo:
    """Set a user's login (or payment) password back to 123456, to be changed at next use.

    Resetting the login password also lifts a lockout: the admin has just
    confirmed who the user is.
    """
    actor.require(USER_MANAGER_PERMISSION)
    if kind not in ("login", "payment"):
        raise ValidationError("Choose the login or the payment password.", field="kind")
    with ctx.db.session() as session:
        user = _locked_user(session, user_id)
        if user.id == actor.user_id:
            raise Conflict("Change your own password under Change Password; a reset is for other users.")
        _require_may_manage(session, actor, user, "reset the password of")
        temporary = hash_password(DEFAULT_PASSWORD)
        if kind == "payment":
            user.payment_password_hash = temporary
            user.must_change_payment_password = True
            action, label = "user.payment_password_reset", "payment password"
        else:
            user.password_hash = temporary
            user.must_change_password = True
            user.locked_until = None
            user.failed_logins = 0
            login_throttle.clear_user(session, user.user_key)
            action, label = "user.password_reset", "password"
        audit.record(session, actor, action, entity="user", entity_id=user.id,
                     summary=f"reset the {label} of {user.user_code} to the temporary one")
        return _info(session, user)


def delete_user(ctx: AppContext, actor: Actor, user_id: int) -> None:
    """Remove a user who never did anything (a typo); anyone with history is disabled instead."""
    actor.require(USER_MANAGER_PERMISSION)
    with ctx.db.session() as session:
        user = _locked_user(session, user_id)
        if user.builtin_admin:
            raise PermissionDenied("The built-in Admin can't be deleted.")
        if user.id == actor.user_id:
            raise Conflict("You can't delete your own account.")
        _require_may_manage(session, actor, user, "delete")
        acted = session.scalar(select(AuditEntry.id).where(AuditEntry.user_id == user.id).limit(1))
        if acted is not None:
            raise Conflict(f"User {user.user_code} has history in the audit trail; disable the user instead.")
        code = user.user_code
        session.delete(user)
        ensure_user_manager_remains(session)
        audit.record(session, actor, "user.delete", entity="user", entity_id=user_id,
                     summary=f"deleted user {code}", detail={"user_code": code})
