"""Rights read live from the database, inside the transaction that uses them.

An `Actor` is a snapshot taken at login. Anything that moves money or hands
out rights re-reads the acting user (still there, enabled, not locked) or API
account (still there, enabled) and its role's permission in the same
transaction that records the change, so a user disabled or a role reduced a
moment ago is refused at once, in every open session.

Three ways in, one rule:
- `holder_columns()` + `holder_params()` + `check_holder()`: add the holder's
  state to a statement the door runs anyway (the sale's one big SELECT), so
  the check costs no round trip;
- `require_live()`: the same columns in a statement of their own;
- `check_user_row()`: the user's own row, already read (and locked) by the
  door (a password check), judged without a permission.
"""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import Integer, Unicode, and_, bindparam, case, exists, func, literal, or_, select, true
from sqlalchemy.orm import Session

from stron_tui.db.models import ApiAccount, Role, RolePermission, User
from stron_tui.errors import PermissionDenied
from stron_tui.domain.clock import utcnow
from stron_tui.services.permissions import ALL_PERMISSIONS, PERMISSIONS, Actor

ADMIN_ROLE_KEY = "administrator"  # fold(bootstrap.ADMIN_ROLE); bootstrap imports services, so not from there

_user = User.__table__.alias("holder_user")
_account = ApiAccount.__table__.alias("holder_account")
_role = Role.__table__.alias("holder_role")
_grant = RolePermission.__table__.alias("holder_grant")

_USER_ID = bindparam("holder_user_id", type_=Integer)
_ACCOUNT_ID = bindparam("holder_account_id", type_=Integer)
_PERMISSION = bindparam("holder_permission", type_=Unicode)


def _role_grants(role_id):
    """The role (by id column) is the Administrator role, or holds the permission asked for."""
    administrator = exists().where(_role.c.id == role_id, _role.c.builtin == true(),
                                   _role.c.name_key == ADMIN_ROLE_KEY)
    granted = exists().where(_grant.c.role_id == role_id, _grant.c.permission == _PERMISSION)
    return or_(administrator, granted)


def holder_columns() -> list:
    """Labelled columns with the acting user's or API account's state now; add them to any SELECT.

    Scalar subqueries driven by the parameters of `holder_params`, so they fit
    a statement over any tables (and a SELECT of their own).
    """
    user_enabled = select(_user.c.enabled).where(_user.c.id == _USER_ID).scalar_subquery()
    account_enabled = select(_account.c.enabled).where(_account.c.id == _ACCOUNT_ID).scalar_subquery()
    locked_until = select(_user.c.locked_until).where(_user.c.id == _USER_ID).scalar_subquery()
    user_may = exists().where(_user.c.id == _USER_ID,
                              or_(_user.c.builtin_admin == true(), _role_grants(_user.c.role_id)))
    account_may = exists().where(_account.c.id == _ACCOUNT_ID, _role_grants(_account.c.role_id))
    # CASE, not a bare EXISTS: SQL Server allows EXISTS only in a condition.
    permitted = case((or_(user_may, account_may), literal(1)), else_=literal(0))
    return [func.coalesce(user_enabled, account_enabled).label("holder_enabled"),
            locked_until.label("holder_locked_until"), permitted.label("holder_permitted")]


def holder_params(actor: Actor, permission: str | None) -> dict:
    return {"holder_user_id": actor.user_id, "holder_account_id": actor.api_account_id,
            "holder_permission": permission or ""}


def is_host(actor: Actor) -> bool:
    """The host's own command line (no user, no API account): it already holds the database."""
    return actor.user_id is None and actor.api_account_id is None and actor.builtin_admin


def check_holder(row, actor: Actor, permission: str | None) -> None:
    """Raise PermissionDenied unless the holder columns in `row` say the actor may act now.

    `permission` None checks only that the user or account may still work (the idle lock).
    """
    if is_host(actor):
        return
    who = actor.user_code if actor.api_account_id is None else f"API account {actor.name}"
    if row.holder_enabled is None:
        raise PermissionDenied(f"{who} no longer exists; nothing was done.")
    if not row.holder_enabled:
        raise PermissionDenied(f"{who} is disabled; nothing was done. Ask an administrator.")
    if row.holder_locked_until is not None and row.holder_locked_until > utcnow():
        raise PermissionDenied(f"{who} is locked after too many wrong passwords; nothing was done.")
    if permission is not None and not row.holder_permitted:
        raise PermissionDenied(f"{who} may no longer {PERMISSIONS[permission]}; nothing was done.")


def check_user_row(user, actor: Actor) -> None:
    """`check_holder` without a permission, for the acting user's row the caller has just read in its own
    transaction (a User): the same rule and messages, without a second read."""
    check_holder(SimpleNamespace(holder_enabled=user.enabled, holder_locked_until=user.locked_until,
                                 holder_permitted=0), actor, None)


_LIVE = select(*holder_columns())


def require_live(session: Session, actor: Actor, permission: str | None) -> None:
    """Re-read the actor's state and `permission` in `session`'s transaction; PermissionDenied if gone."""
    if is_host(actor):
        return
    row = session.execute(_LIVE, holder_params(actor, permission)).one()
    check_holder(row, actor, permission)


def current_permissions(session: Session, actor: Actor) -> frozenset[str]:
    """Every permission the actor holds now (all for Admin), after the same checks as `require_live`."""
    if is_host(actor):
        return ALL_PERMISSIONS
    require_live(session, actor, None)
    if actor.api_account_id is not None:
        role_id = select(_account.c.role_id).where(_account.c.id == actor.api_account_id).scalar_subquery()
        builtin_admin = False
    else:
        role_id = select(_user.c.role_id).where(_user.c.id == actor.user_id).scalar_subquery()
        builtin_admin = bool(session.scalar(select(_user.c.builtin_admin).where(_user.c.id == actor.user_id)))
    administrator = session.scalar(select(func.count()).select_from(_role).where(
        and_(_role.c.id == role_id, _role.c.builtin == true(), _role.c.name_key == ADMIN_ROLE_KEY)))
    if builtin_admin or administrator:
        return ALL_PERMISSIONS
    held = session.scalars(select(_grant.c.permission).where(_grant.c.role_id == role_id))
    return frozenset(held) & ALL_PERMISSIONS
