"""Operators (sub-accounts) and their roles."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from stron_tui.db.models import Role, SalesStation, User
from stron_tui.errors import Conflict, NotFound, ValidationError
from stron_tui.services import audit
from stron_tui.services.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.passwords import DEFAULT_PASSWORD, hash_password
from stron_tui.services.permissions import Actor
from stron_tui.services.text import clean, fold


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


def _info(session, user: User) -> UserInfo:
    role = session.get(Role, user.role_id)
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
        locked=user.locked_until is not None and user.locked_until > utcnow(),
    )


def validate_user_code(user_code: str) -> str:
    code = clean(user_code)
    if not code:
        raise ValidationError("Enter a user ID.", field="user_code")
    if len(code) > 40:
        raise ValidationError("A user ID has at most 40 characters.", field="user_code")
    if not all(ch.isalnum() or ch in "._-@" for ch in code):
        raise ValidationError("A user ID may use letters, digits and . _ - @ only.", field="user_code")
    return code


def create_user(
    ctx: AppContext,
    actor: Actor,
    *,
    user_code: str,
    name: str = "",
    phone: str = "",
    role: str,
    station_id: int | None = None,
) -> UserInfo:
    """A new sub-account with the temporary password 123456, to be changed at first login."""
    actor.require("system.users")
    code = validate_user_code(user_code)
    with ctx.db.session() as session:
        if session.scalar(select(User.id).where(User.user_key == fold(code))) is not None:
            raise Conflict(f"A user with ID {code} already exists.")
        role_row = session.scalar(select(Role).where(Role.name_key == fold(role)))
        if role_row is None:
            raise NotFound(f"There is no role named {role}.")
        if station_id is not None and session.get(SalesStation, station_id) is None:
            raise NotFound(f"There is no sales station with id {station_id}.")
        temporary = hash_password(DEFAULT_PASSWORD)
        user = User(
            user_code=code,
            user_key=fold(code),
            name=clean(name)[:100],
            phone=clean(phone)[:40],
            role_id=role_row.id,
            station_id=station_id,
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
                     detail={"user_code": code, "name": user.name, "role": role_row.name, "station_id": station_id})
        return _info(session, user)
