"""Login, lockout, logout and password changes.

A wrong password counts toward the lockout wherever it is typed: the login
screen, SSH, or the payment password when confirming a sale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from stron_tui.db.models import RolePermission, User
from stron_tui.errors import AccountLocked, AuthenticationFailed, ValidationError
from stron_tui.services import audit
from stron_tui.services.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.passwords import check_policy, hash_password, verify_password
from stron_tui.services.permissions import ALL_PERMISSIONS, Actor
from stron_tui.services.text import fold

WRONG_CREDENTIALS = "Wrong user ID or password."


def permissions_of(session: Session, user: User) -> frozenset[str]:
    if user.builtin_admin:
        return ALL_PERMISSIONS
    rows = session.scalars(select(RolePermission.permission).where(RolePermission.role_id == user.role_id))
    return frozenset(rows) & ALL_PERMISSIONS


def actor_for(session: Session, user: User, source: str, remote: str = "") -> Actor:
    return Actor(
        user_id=user.id,
        user_code=user.user_code,
        name=user.name,
        permissions=permissions_of(session, user),
        source=source,
        station_id=user.station_id,
        remote=remote,
        builtin_admin=user.builtin_admin,
        must_change_password=user.must_change_password,
    )


def find_user(session: Session, user_code: str, *, lock: bool = False) -> User | None:
    query = select(User).where(User.user_key == fold(user_code))
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def _locked_message(user: User, ctx: AppContext) -> str:
    until = user.locked_until.astimezone(ctx.settings.zone).strftime("%H:%M on %Y-%m-%d")
    return f"User {user.user_code} is locked after too many wrong passwords until {until}."


def register_failure(session: Session, ctx: AppContext, user: User, *, source: str, remote: str, what: str) -> None:
    """Count one wrong password; lock the user when the limit is reached."""
    user.failed_logins += 1
    audit.record(session, None, f"{what}_failed", entity="user", entity_id=user.id, user_code=user.user_code,
                 source=source, remote=remote, summary=f"wrong {what.replace('_', ' ')} ({user.failed_logins})")
    if user.failed_logins >= ctx.settings.lockout_attempts:
        user.locked_until = utcnow() + timedelta(minutes=ctx.settings.lockout_minutes)
        user.failed_logins = 0
        audit.record(session, None, "lockout", entity="user", entity_id=user.id, user_code=user.user_code,
                     source=source, remote=remote,
                     summary=f"locked for {ctx.settings.lockout_minutes} minutes")


def check_not_locked(ctx: AppContext, user: User) -> None:
    if user.locked_until is not None and user.locked_until > utcnow():
        raise AccountLocked(_locked_message(user, ctx), user.locked_until)


def authenticate(ctx: AppContext, user_code: str, password: str, *, source: str = "tui", remote: str = "") -> Actor:
    """Check a login; returns the Actor or raises with the reason to show."""
    user_code = user_code.strip()
    failure: Exception | None = None
    with ctx.db.session() as session:
        user = find_user(session, user_code, lock=True) if user_code else None
        if user is None:
            verify_password(None, password)
            audit.record(session, None, "login_failed", user_code=user_code, source=source, remote=remote,
                         summary="unknown user ID")
            failure = AuthenticationFailed(WRONG_CREDENTIALS)
        elif user.password_hash is None:
            failure = AuthenticationFailed(f"User {user.user_code} has no password yet; an administrator must set one.")
        else:
            try:
                check_not_locked(ctx, user)
            except AccountLocked as locked:
                audit.record(session, None, "login_failed", entity="user", entity_id=user.id,
                             user_code=user.user_code, source=source, remote=remote, summary="locked")
                failure = locked
            else:
                if not verify_password(user.password_hash, password):
                    register_failure(session, ctx, user, source=source, remote=remote, what="login")
                    failure = (
                        AccountLocked(_locked_message(user, ctx), user.locked_until)
                        if user.locked_until and user.locked_until > utcnow()
                        else AuthenticationFailed(WRONG_CREDENTIALS)
                    )
                elif not user.enabled:
                    audit.record(session, None, "login_failed", entity="user", entity_id=user.id,
                                 user_code=user.user_code, source=source, remote=remote, summary="disabled")
                    failure = AuthenticationFailed(f"User {user.user_code} is disabled; ask an administrator.")
                else:
                    user.failed_logins = 0
                    user.locked_until = None
                    user.last_login_at = utcnow()
                    actor = actor_for(session, user, source, remote)
                    audit.record(session, actor, "login", entity="user", entity_id=user.id, summary="logged in")
                    return actor
    # The failure count is committed before the error is raised.
    raise failure


def logout(ctx: AppContext, actor: Actor) -> None:
    with ctx.db.session() as session:
        audit.record(session, actor, "logout", entity="user", entity_id=actor.user_id or "", summary="logged out")


def verify_own_password(ctx: AppContext, actor: Actor, password: str, *, kind: str = "login") -> None:
    """Re-check the operator's login or payment password (unlocking, confirming a sale).

    Wrong answers count toward the same lockout as the login screen.
    """
    with ctx.db.session() as session:
        user = session.get(User, actor.user_id, with_for_update=True)
        if user is None:
            raise AuthenticationFailed("This operator no longer exists.")
        check_not_locked(ctx, user)
        stored = user.payment_password_hash if kind == "payment" else user.password_hash
        if kind == "payment" and stored is None:
            raise ValidationError("You have no payment password yet; set one under Change Password first.",
                                  field="payment_password")
        correct = verify_password(stored, password)
        if correct:
            user.failed_logins = 0
        else:
            register_failure(session, ctx, user, source=actor.source, remote=actor.remote,
                             what="payment_password" if kind == "payment" else "password")
            locked = user.locked_until is not None and user.locked_until > utcnow()
    if correct:
        return
    if locked:
        raise AccountLocked(_locked_message(user, ctx), user.locked_until)
    if kind == "payment":
        # The usual slip: typing the login password, which is a different one.
        raise AuthenticationFailed("Wrong payment password (not your login password; P on the main menu, "
                                   "then F8, changes it).")
    raise AuthenticationFailed("Wrong password.")


def confirm_payment(ctx: AppContext, actor: Actor, password: str) -> None:
    """The payment password confirming a sale: right, and not the temporary one any more."""
    verify_own_password(ctx, actor, password, kind="payment")
    with ctx.db.read_session() as session:
        temporary = session.scalar(select(User.must_change_payment_password).where(User.id == actor.user_id))
    if temporary:
        # The temporary payment password confirms nothing: anyone may know 123456.
        raise ValidationError("Your payment password is still the temporary one; change it first "
                              "(P on the main menu, then F8 for the payment password).", field="payment_password")


def change_own_password(ctx: AppContext, actor: Actor, old: str, new: str, *, kind: str = "login") -> None:
    """Change the operator's login or payment password; the old one is required."""
    check_policy(new, user_code=actor.user_code, kind=kind)
    with ctx.db.session() as session:
        user = session.get(User, actor.user_id, with_for_update=True)
        if user is None:
            raise AuthenticationFailed("This operator no longer exists.")
        check_not_locked(ctx, user)  # no guessing through this door either
        stored = user.payment_password_hash if kind == "payment" else user.password_hash
        # A user without a payment password yet proves who they are with the login password.
        if kind == "payment" and stored is None:
            stored = user.password_hash
        if not verify_password(stored, old):
            register_failure(session, ctx, user, source=actor.source, remote=actor.remote, what="password")
            failed = True
        else:
            failed = False
            if kind == "payment":
                user.payment_password_hash = hash_password(new)
                user.must_change_payment_password = False
            else:
                if verify_password(user.password_hash, new):
                    raise ValidationError("The new password must differ from the old one.", field="new")
                user.password_hash = hash_password(new)
                user.must_change_password = False
                user.password_changed_at = utcnow()
            audit.record(session, actor, f"{'payment_' if kind == 'payment' else ''}password_changed",
                         entity="user", entity_id=user.id, summary=f"changed own {kind} password")
    if failed:
        raise AuthenticationFailed("The current password is wrong.")


def admin_needs_password(ctx: AppContext) -> bool:
    with ctx.db.read_session() as session:
        admin = session.scalar(select(User).where(User.builtin_admin.is_(True)))
        return admin is not None and admin.password_hash is None


def set_first_admin_password(ctx: AppContext, password: str, *, source: str = "tui") -> None:
    """Set the built-in Admin's password the first time only (first start or `stron-tui init`)."""
    check_policy(password, user_code="Admin")
    with ctx.db.session() as session:
        admin = session.scalar(select(User).where(User.builtin_admin.is_(True)).with_for_update())
        if admin.password_hash is not None:
            raise ValidationError("The Admin password is already set; change it under System Management.")
        admin.password_hash = hash_password(password)
        admin.payment_password_hash = hash_password(password)
        admin.must_change_password = False
        admin.must_change_payment_password = False
        admin.password_changed_at = utcnow()
        audit.record(session, None, "admin_password_set", entity="user", entity_id=admin.id,
                     user_code=admin.user_code, source=source, summary="first Admin password set")


@dataclass(frozen=True)
class PasswordState:
    """Which of the operator's own passwords are temporary (123456 after creation or a reset)."""

    login_temporary: bool
    payment_temporary: bool
    has_payment_password: bool


def password_state(ctx: AppContext, actor: Actor) -> PasswordState:
    with ctx.db.read_session() as session:
        user = session.get(User, actor.user_id)
        if user is None:
            raise AuthenticationFailed("This operator no longer exists.")
        return PasswordState(bool(user.must_change_password), bool(user.must_change_payment_password),
                             user.payment_password_hash is not None)


def replace_temporary_passwords(ctx: AppContext, actor: Actor, current: str, *, new_login: str | None,
                                new_payment: str | None) -> None:
    """The forced first change: the temporary login and/or payment password replaced in one step.

    `current` is the login password the operator logged in with; both new
    passwords pass the policy before anything changes, and both change in one
    transaction, so a first sale is never refused for a temporary payment password.
    """
    if new_login is not None:
        check_policy(new_login, user_code=actor.user_code, kind="login")
    if new_payment is not None:
        try:
            check_policy(new_payment, user_code=actor.user_code, kind="payment")
        except ValidationError as error:
            raise ValidationError(error.message, field="new_payment") from None
    with ctx.db.session() as session:
        user = session.get(User, actor.user_id, with_for_update=True)
        if user is None:
            raise AuthenticationFailed("This operator no longer exists.")
        check_not_locked(ctx, user)
        if not verify_password(user.password_hash, current):
            register_failure(session, ctx, user, source=actor.source, remote=actor.remote, what="password")
            failed = True
        else:
            failed = False
            if new_login is not None:
                if verify_password(user.password_hash, new_login):
                    raise ValidationError("The new password must differ from the old one.", field="new")
                user.password_hash = hash_password(new_login)
                user.must_change_password = False
                user.password_changed_at = utcnow()
                audit.record(session, actor, "password_changed", entity="user", entity_id=user.id,
                             summary="changed own login password")
            if new_payment is not None:
                user.payment_password_hash = hash_password(new_payment)
                user.must_change_payment_password = False
                audit.record(session, actor, "payment_password_changed", entity="user", entity_id=user.id,
                             summary="changed own payment password")
    if failed:
        raise AuthenticationFailed("The current password is wrong.")
