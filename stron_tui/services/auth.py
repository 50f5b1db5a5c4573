"""Login, lockout, logout and password changes.

Wrong passwords at a login (screen, SSH) are throttled per source address and
user ID (login_throttle): they never lock the user everywhere. Wrong passwords
typed inside a logged-in session (the idle lock, the payment password, the
current password when changing it) lock the user itself after
`lockout_attempts`, for `lockout_minutes`: whoever types them already holds
the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from stron_tui.db.models import RolePermission, User
from stron_tui.errors import AccountLocked, AuthenticationFailed, ValidationError
from stron_tui.services import audit, live_rights, login_throttle
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.passwords import check_policy, hash_password, verify_password
from stron_tui.services.permissions import ALL_PERMISSIONS, Actor
from stron_tui.domain.text import fold

# One answer for every failed login, whatever the reason: it must not tell who exists.
WRONG_CREDENTIALS = "Wrong user ID or password, or this user may not log in now."


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


def actor_of_user(ctx: AppContext, user_id: int, *, source: str, remote: str = "") -> Actor:
    """The actor of a user another door has authenticated (the SSH server hands its session the user id),
    read afresh: a user disabled or locked since then may no longer log in."""
    with ctx.db.read_session() as session:
        user = session.get(User, user_id)
        if user is None or not user.enabled:
            raise AuthenticationFailed("This user may no longer log in.")
        check_not_locked(ctx, user)
        return actor_for(session, user, source, remote)


def authenticate(ctx: AppContext, user_code: str, password: str, *, source: str = "tui", remote: str = "") -> Actor:
    """Check a login; returns the Actor or raises with the reason to show.

    Every failure looks the same, in words and in work: unknown, wrong
    password, disabled, locked or without a password yet all say
    WRONG_CREDENTIALS after one password hash check. Only a throttled source
    is told so (see login_throttle), which holds for unknown user IDs alike.
    """
    user_code = user_code.strip()
    limits = login_throttle.Limits.of(ctx.settings)
    address = login_throttle.address_key(source, remote)
    key = login_throttle.user_key(user_code)
    with ctx.db.session() as session:
        refusal = login_throttle.begin_attempt(session, limits, address, key)
        if refusal is not None:
            audit.record(session, None, "login_failed", user_code=user_code[:40], source=source, remote=remote,
                         summary="refused: too many failed logins from this source")
    if refusal is not None:
        raise refusal
    with ctx.db.read_session() as session:
        user = find_user(session, user_code) if key else None
        stored = user.password_hash if user is not None else None
    # The same hash check for every user ID: a dummy one when there is no hash to check against.
    correct = verify_password(stored, password)
    with ctx.db.session() as session:
        user = find_user(session, user_code, lock=True) if key else None
        if user is not None and user.password_hash != stored:
            correct = False  # changed while it was being checked: the checked one is no longer the password
        reason = _refusal_reason(user, correct)
        if reason is None:
            login_throttle.succeeded(session, address, key)
            user.failed_logins = 0
            user.last_login_at = utcnow()
            actor = actor_for(session, user, source, remote)
            audit.record(session, actor, "login", entity="user", entity_id=user.id, summary="logged in")
            return actor
        blocked = login_throttle.failed(session, limits, address, key)
        audit.record(session, None, "login_failed", entity="user" if user else "", entity_id=user.id if user else "",
                     user_code=user.user_code if user else user_code[:40], source=source, remote=remote,
                     summary=reason)
        for what in blocked:
            scope = f"from {address}" if what == login_throttle.ANY_USER else f"as this user ID from {address}"
            audit.record(session, None, "lockout", entity="user" if user else "", entity_id=user.id if user else "",
                         user_code=user.user_code if user else user_code[:40], source=source, remote=remote,
                         summary=f"logins {scope} refused for a while after too many failures")
    raise AuthenticationFailed(WRONG_CREDENTIALS)


def _refusal_reason(user: User | None, correct: bool) -> str | None:
    """Why this login is refused (for the audit trail only; the user is told WRONG_CREDENTIALS), or None."""
    if user is None:
        return "unknown user ID"
    if user.password_hash is None:
        return "no password set yet"
    if not correct:
        return "wrong password"
    if not user.enabled:
        return "disabled"
    if user.locked_until is not None and user.locked_until > utcnow():
        return "locked"
    return None


def logout(ctx: AppContext, actor: Actor) -> None:
    with ctx.db.session() as session:
        audit.record(session, actor, "logout", entity="user", entity_id=actor.user_id or "", summary="logged out")


def verify_own_password(ctx: AppContext, actor: Actor, password: str, *, kind: str = "login") -> None:
    """Re-check the operator's login or payment password (unlocking, confirming a sale).

    Wrong answers count toward the same lockout as the login screen.
    """
    _verified_user(ctx, actor, password, kind)


def _verified_user(ctx: AppContext, actor: Actor, password: str, kind: str) -> User:
    """verify_own_password's work; the operator's row as read (and locked) for it, when the password is right."""
    with ctx.db.session() as session:
        user = session.get(User, actor.user_id, with_for_update=True)
        if user is None:
            raise AuthenticationFailed("This operator no longer exists.")
        check_not_locked(ctx, user)
        live_rights.check_user_row(user, actor)  # a user disabled since login unlocks nothing
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
        return user
    field = "payment_password" if kind == "payment" else "password"
    if locked:
        raise AccountLocked(_locked_message(user, ctx), user.locked_until, field=field)
    if kind == "payment":
        # The usual slip: typing the login password, which is a different one.
        raise AuthenticationFailed("Wrong payment password (not your login password; P on the main menu, "
                                   "then F8, changes it).", field=field)
    raise AuthenticationFailed("Wrong password.", field=field)


def confirm_payment(ctx: AppContext, actor: Actor, password: str) -> None:
    """The payment password confirming a sale: right, and not the temporary one any more."""
    # The flag is the one read with the password, in the same locked read: no second look-up.
    if _verified_user(ctx, actor, password, "payment").must_change_payment_password:
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
