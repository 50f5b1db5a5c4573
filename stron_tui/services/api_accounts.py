"""API accounts: partners' keys for the HTTP API, each with a role and a sales station.

A key is `stron_<prefix>.<secret>`: the prefix (12 url-safe characters) is
stored in clear and finds the account with one indexed look-up; the secret
(32 random bytes) is stored only as its SHA-256. A fast hash is enough here,
unlike passwords: the secret has 256 bits of entropy, so no dictionary or
brute-force attack on a leaked hash is feasible, and argon2 (~20 ms by
design) on every request would cap the API at a few dozen calls per second
per core. The full key is shown once, at creation or rotation, and never
stored, logged or audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select

from stron_tui.db.models import ApiAccount, Role, RolePermission, SalesStation
from stron_tui.db.queries import for_update
from stron_tui.errors import AuthenticationFailed, Conflict, NotFound, ValidationError
from stron_tui.services import audit, grants
from stron_tui.services.bootstrap import ADMIN_ROLE
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import ALL_PERMISSIONS, Actor
from stron_tui.domain.text import clean, fold

PERMISSION = "system.api_accounts"
KEY_START = "stron_"
PREFIX_LENGTH = 12
MIN_RATE = 1
MAX_RATE = 100_000
DEFAULT_RATE = 600
# last_used_at is written at most this often per account, so busy partners don't turn reads into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
INVALID_KEY = "The API key is missing, malformed, unknown or disabled."


@dataclass(frozen=True)
class ApiAccountInfo:
    id: int
    name: str
    role: str
    station_code: str
    enabled: bool
    rate_limit_per_minute: int
    key_prefix: str
    created_at: datetime
    rotated_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class IssuedKey:
    """An account with its full key: shown once, never stored."""

    account: ApiAccountInfo
    api_key: str


def _hash_secret(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_key() -> tuple[str, str, str]:
    """(full key, prefix, stored hash)."""
    prefix = secrets.token_urlsafe(9)[:PREFIX_LENGTH]
    secret = secrets.token_urlsafe(32)
    return f"{KEY_START}{prefix}.{secret}", prefix, _hash_secret(secret)


def split_key(key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    key = (key or "").strip()
    if not key.startswith(KEY_START) or "." not in key or len(key) > 200:
        return None
    prefix, _, secret = key[len(KEY_START):].partition(".")
    if len(prefix) != PREFIX_LENGTH or not secret:
        return None
    return prefix, secret


def _info(session, row: ApiAccount) -> ApiAccountInfo:
    role = session.get(Role, row.role_id)
    station = session.get(SalesStation, row.station_id) if row.station_id else None
    return ApiAccountInfo(row.id, row.name, role.name if role else "?", station.code if station else "",
                          row.enabled, row.rate_limit_per_minute, row.key_prefix, row.created_at, row.rotated_at,
                          row.last_used_at)


def _clean_name(name: str) -> str:
    text = clean(name)
    if not text:
        raise ValidationError("Enter a name for the API account.", field="name")
    if len(text) > 60:
        raise ValidationError("An API account name has at most 60 characters.", field="name")
    return text


def _role(session, role: str) -> Role:
    row = session.scalar(select(Role).where(Role.name_key == fold(role or "")))
    if row is None:
        raise ValidationError(f"There is no role named {clean(role)!r}.", field="role")
    return row


def _station_id(session, station_code: str | None) -> int | None:
    code = clean(station_code or "")
    if not code:
        return None
    station_id = session.scalar(select(SalesStation.id).where(SalesStation.code_key == fold(code)))
    if station_id is None:
        raise ValidationError(f"There is no sales station with ID {code}.", field="station")
    return station_id


def _rate(value) -> int:
    try:
        rate = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError("The rate limit is a whole number of requests per minute.",
                              field="rate_limit_per_minute") from None
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValidationError(f"The rate limit is {MIN_RATE} to {MAX_RATE} requests per minute.",
                              field="rate_limit_per_minute")
    return rate


def _locked(session, account_id: int) -> ApiAccount:
    row = session.scalar(for_update(select(ApiAccount).where(ApiAccount.id == account_id), ApiAccount))
    if row is None:
        raise NotFound("That API account no longer exists.")
    return row


def _values(row: ApiAccount) -> dict:
    return {"name": row.name, "role_id": row.role_id, "station_id": row.station_id, "enabled": row.enabled,
            "rate_limit_per_minute": row.rate_limit_per_minute}


def own_name(ctx: AppContext, actor: Actor) -> str:
    """The name of the API account acting ("" for an operator): how its settlement and float are looked up."""
    if actor.api_account_id is None:
        return ""
    with ctx.db.read_session() as session:
        return session.scalar(select(ApiAccount.name).where(ApiAccount.id == actor.api_account_id)) or ""


def list_accounts(ctx: AppContext, actor: Actor) -> list[ApiAccountInfo]:
    """Every API account by name (they are few)."""
    actor.require(PERMISSION)
    with ctx.db.read_session() as session:
        return [_info(session, row) for row in session.scalars(select(ApiAccount).order_by(ApiAccount.name_key))]


def find_account(ctx: AppContext, actor: Actor, name: str) -> ApiAccountInfo:
    actor.require(PERMISSION)
    with ctx.db.read_session() as session:
        row = session.scalar(select(ApiAccount).where(ApiAccount.name_key == fold(name or "")))
        if row is None:
            raise NotFound(f"There is no API account named {clean(name)!r}.")
        return _info(session, row)


def create_account(ctx: AppContext, actor: Actor, *, name: str, role: str, station_code: str | None = None,
                   rate_limit_per_minute: int | str = DEFAULT_RATE, enabled: bool = True) -> IssuedKey:
    """A new API account; the returned key is the only time anyone sees it."""
    actor.require(PERMISSION)
    name = _clean_name(name)
    rate = _rate(rate_limit_per_minute)
    with ctx.db.session() as session:
        if session.scalar(select(ApiAccount.id).where(ApiAccount.name_key == fold(name))) is not None:
            raise Conflict(f"An API account named {name} already exists.")
        role_row = _role(session, role)
        grants.require_may_grant_role(session, actor, role_row.id,
                                      f"create an API account with the role {role_row.name}",
                                      right=grants.API_ACCOUNTS)
        station_id = _station_id(session, station_code)
        key, prefix, stored = _new_key()
        row = ApiAccount(name=name, name_key=fold(name), role_id=role_row.id, station_id=station_id,
                         key_prefix=prefix, key_hash=stored, enabled=enabled, rate_limit_per_minute=rate,
                         created_at=utcnow())
        session.add(row)
        session.flush()
        audit.record(session, actor, "api_account.created", entity="api_account", entity_id=row.id,
                     summary=f"API account {name} created with role {role_row.name}",
                     detail={"after": _values(row) | {"key_prefix": prefix}})
        return IssuedKey(_info(session, row), key)


def rotate_key(ctx: AppContext, actor: Actor, account_id: int) -> IssuedKey:
    """A new key for the account; the old key stops working at once."""
    actor.require(PERMISSION)
    with ctx.db.session() as session:
        row = _locked(session, account_id)
        grants.require_may_manage_api_account(session, actor, row, "rotate the key of")
        old_prefix = row.key_prefix
        key, prefix, stored = _new_key()
        row.key_prefix, row.key_hash, row.rotated_at = prefix, stored, utcnow()
        audit.record(session, actor, "api_account.rotated", entity="api_account", entity_id=row.id,
                     summary=f"API key of {row.name} rotated",
                     detail={"key_prefix": [old_prefix, prefix]})
        session.flush()
        return IssuedKey(_info(session, row), key)


def update_account(ctx: AppContext, actor: Actor, account_id: int, *, role: str | None = None,
                   station_code: str | None = None, rate_limit_per_minute: int | str | None = None,
                   enabled: bool | None = None) -> ApiAccountInfo:
    """Change role, station (empty text: none), rate limit or the enabled flag."""
    actor.require(PERMISSION)
    with ctx.db.session() as session:
        row = _locked(session, account_id)
        grants.require_may_manage_api_account(session, actor, row, "change")
        before = _values(row)
        if role is not None:
            role_row = _role(session, role)
            if role_row.id != row.role_id:
                grants.require_may_grant_role(session, actor, role_row.id,
                                              f"give the role {role_row.name} to the API account {row.name}",
                                              right=grants.API_ACCOUNTS)
            row.role_id = role_row.id
        if station_code is not None:
            row.station_id = _station_id(session, station_code)
        if rate_limit_per_minute is not None:
            row.rate_limit_per_minute = _rate(rate_limit_per_minute)
        if enabled is not None:
            row.enabled = bool(enabled)
        after = _values(row)
        if after != before:
            what = ("enabled" if row.enabled else "disabled") if before["enabled"] != row.enabled else "changed"
            audit.record(session, actor, f"api_account.{what}", entity="api_account", entity_id=row.id,
                         summary=f"API account {row.name} {what}", detail=audit.changes(before, after))
        session.flush()
        return _info(session, row)


def set_enabled(ctx: AppContext, actor: Actor, account_id: int, enabled: bool) -> ApiAccountInfo:
    return update_account(ctx, actor, account_id, enabled=enabled)


# One statement, one row per permission of the account's role: this runs before every API request.
_ACCOUNT_BY_PREFIX = (
    select(ApiAccount.id, ApiAccount.name, ApiAccount.key_hash, ApiAccount.enabled, ApiAccount.last_used_at,
           ApiAccount.station_id, ApiAccount.rate_limit_per_minute, Role.builtin.label("role_builtin"),
           Role.name_key.label("role_name_key"), RolePermission.permission)
    .join(Role, Role.id == ApiAccount.role_id)
    .outerjoin(RolePermission, RolePermission.role_id == Role.id)
    .where(ApiAccount.key_prefix == bindparam("prefix"))
)


def authenticate(ctx: AppContext, key: str, *, remote: str = "") -> Actor:
    """The acting API account for a key, or AuthenticationFailed (one message for every reason)."""
    parts = split_key(key)
    if parts is None:
        raise AuthenticationFailed(INVALID_KEY)
    prefix, secret = parts
    rows = ctx.db.read_rows(_ACCOUNT_BY_PREFIX, {"prefix": prefix})
    presented = _hash_secret(secret)
    if not rows:
        hmac.compare_digest(presented, presented)  # same work whether or not the prefix exists
        raise AuthenticationFailed(INVALID_KEY)
    account = rows[0]
    if not hmac.compare_digest(presented, account.key_hash) or not account.enabled:
        raise AuthenticationFailed(INVALID_KEY)
    if account.role_builtin and account.role_name_key == fold(ADMIN_ROLE):
        permissions = ALL_PERMISSIONS
    else:
        permissions = frozenset(row.permission for row in rows if row.permission) & ALL_PERMISSIONS
    stale = account.last_used_at is None or utcnow() - account.last_used_at > LAST_USED_RESOLUTION
    if stale:
        with ctx.db.session() as session:
            row = session.get(ApiAccount, account.id)
            if row is not None:
                row.last_used_at = utcnow()
    return Actor(user_id=None, user_code=f"api:{account.name}"[:40], name=account.name, permissions=permissions,
                 source="api", station_id=account.station_id, api_account_id=account.id, remote=remote[:80],
                 extra={"rate_limit_per_minute": account.rate_limit_per_minute})
