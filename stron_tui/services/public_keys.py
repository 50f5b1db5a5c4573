"""SSH public keys registered to users, and logging in with them at a remote station.

A key is stored with its SHA-256 fingerprint (unique: one key belongs to one
user). A key login is refused for a disabled or locked-out user, exactly as a
password login would be. Listing, attaching and removing another user's keys
follow the rule of `grants`: only Admin touches the built-in Admin (or anyone
with Administrator rights), others only users whose rights they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncssh
from sqlalchemy import select

from stron_tui.db.models import User, UserPublicKey
from stron_tui.errors import AccountLocked, AuthenticationFailed, Conflict, NotFound, ValidationError
from stron_tui.services import audit, grants
from stron_tui.services.auth import check_not_locked, find_user
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.domain.text import clean


@dataclass(frozen=True)
class PublicKeyInfo:
    id: int
    user_code: str
    algorithm: str
    fingerprint: str
    comment: str
    created_at: datetime
    printing: str = "station"  # see KEY_PRINTING


# How the terminal holding a key prints receipts: the key's own setting wins over its station's.
KEY_PRINTING = {"station": "station default", "terminal": "prints", "none": "saves files"}


def parse_public_key(text: str) -> asyncssh.SSHKey:
    """One public key in OpenSSH form (`ssh-ed25519 AAAA... comment`) or RFC 4716 (PuTTYgen's export)."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("Paste the public key (one line starting with ssh-ed25519, ssh-rsa or ecdsa-).",
                              field="public_key")
    if "PRIVATE KEY" in text:
        raise ValidationError("That is a private key: paste the public key instead and keep the private one "
                              "secret.", field="public_key")
    try:
        return asyncssh.import_public_key(text)
    except (asyncssh.KeyImportError, ValueError, TypeError):
        raise ValidationError("That is not an SSH public key; paste one line starting with ssh-ed25519, "
                              "ssh-rsa or ecdsa-.", field="public_key") from None


def key_fingerprint(key: asyncssh.SSHKey) -> str:
    return key.get_fingerprint("sha256")


def _info(row: UserPublicKey, user_code: str) -> PublicKeyInfo:
    return PublicKeyInfo(id=row.id, user_code=user_code, algorithm=row.public_key.split(" ", 1)[0],
                         fingerprint=row.fingerprint, comment=row.comment, created_at=row.created_at,
                         printing=row.printing)


def _user(session, user_code: str) -> User:
    user = find_user(session, user_code) if user_code.strip() else None
    if user is None:
        raise NotFound(f"There is no user {user_code.strip()!r}.")
    return user


def list_keys(ctx: AppContext, actor: Actor, user_code: str) -> list[PublicKeyInfo]:
    actor.require("system.users")
    with ctx.db.read_session() as session:
        user = _user(session, user_code)
        grants.require_may_manage_user(session, actor, user, "list the SSH keys of")
        rows = session.scalars(select(UserPublicKey).where(UserPublicKey.user_id == user.id)
                               .order_by(UserPublicKey.id))
        return [_info(row, user.user_code) for row in rows]


def add_key(ctx: AppContext, actor: Actor, user_code: str, key_text: str, comment: str = "") -> PublicKeyInfo:
    actor.require("system.users")
    key = parse_public_key(key_text)
    fingerprint = key_fingerprint(key)
    comment = clean(comment or key.get_comment() or "")[:200]
    with ctx.db.session() as session:
        user = _user(session, user_code)
        grants.require_may_manage_user(session, actor, user, "attach an SSH key to")
        existing = session.scalar(select(UserPublicKey).where(UserPublicKey.fingerprint == fingerprint))
        if existing is not None:
            owner = session.get(User, existing.user_id)
            raise Conflict(f"This key is already registered to {owner.user_code if owner else 'another user'}.")
        row = UserPublicKey(user_id=user.id, fingerprint=fingerprint,
                            public_key=key.export_public_key("openssh").decode("ascii").strip(), comment=comment,
                            created_at=utcnow())
        session.add(row)
        session.flush()
        audit.record(session, actor, "public_key.added", entity="user", entity_id=user.id,
                     summary=f"SSH key {fingerprint} added for {user.user_code}",
                     detail={"after": {"fingerprint": fingerprint, "comment": comment}})
        return _info(row, user.user_code)


def remove_key(ctx: AppContext, actor: Actor, key_id: int) -> None:
    actor.require("system.users")
    with ctx.db.session() as session:
        row = session.get(UserPublicKey, key_id)
        if row is None:
            raise NotFound("That key is no longer registered.")
        user = session.get(User, row.user_id)
        if user is not None:
            grants.require_may_manage_user(session, actor, user, "remove an SSH key of")
        audit.record(session, actor, "public_key.removed", entity="user", entity_id=row.user_id,
                     summary=f"SSH key {row.fingerprint} removed from {user.user_code if user else row.user_id}",
                     detail={"before": {"fingerprint": row.fingerprint, "comment": row.comment}})
        session.delete(row)


def set_key_printing(ctx: AppContext, actor: Actor, key_id: int, printing: str) -> PublicKeyInfo:
    """Say how the terminal holding this key prints: "station" (its station's Printing), "terminal"
    (transparent print) or "none" (save files). Same rights as attaching the key."""
    actor.require("system.users")
    if printing not in KEY_PRINTING:
        raise ValidationError(f"Printing is one of {', '.join(KEY_PRINTING)}, not {printing!r}.", field="printing")
    with ctx.db.session() as session:
        row = session.get(UserPublicKey, key_id)
        if row is None:
            raise NotFound("That key is no longer registered.")
        user = session.get(User, row.user_id)
        grants.require_may_manage_user(session, actor, user, "change an SSH key of")
        if row.printing != printing:
            audit.record(session, actor, "public_key.printing", entity="user", entity_id=user.id,
                         summary=f"SSH key {row.fingerprint} of {user.user_code}: printing "
                                 f"{KEY_PRINTING[row.printing]} -> {KEY_PRINTING[printing]}",
                         detail={"before": {"printing": row.printing}, "after": {"printing": printing}})
            row.printing = printing
        return _info(row, user.user_code)


def key_printing(ctx: AppContext, fingerprint: str) -> str:
    """The printing setting of the key a session logged in with, read fresh ("station" for none or a
    key removed since)."""
    if not fingerprint:
        return "station"
    with ctx.db.read_session() as session:
        return session.scalar(select(UserPublicKey.printing)
                              .where(UserPublicKey.fingerprint == fingerprint)) or "station"


def key_may_log_in(ctx: AppContext, user_code: str, fingerprint: str) -> bool:
    """Whether this key is registered to this user (the SSH server asks before checking the signature)."""
    with ctx.db.read_session() as session:
        user = find_user(session, user_code) if user_code.strip() else None
        if user is None or not user.enabled:
            return False
        return session.scalar(select(UserPublicKey.id).where(UserPublicKey.user_id == user.id,
                                                             UserPublicKey.fingerprint == fingerprint)) is not None


def record_key_login(ctx: AppContext, user_code: str, fingerprint: str, *, remote: str = "",
                     source: str = "ssh") -> int:
    """After the key's signature checked out: refuse a locked or disabled user, else audit the login.

    Returns the user's id.
    """
    failure: Exception | None = None
    with ctx.db.session() as session:
        user = find_user(session, user_code, lock=True)
        if user is None or not user.enabled:
            raise AuthenticationFailed("This user may not log in.")
        try:
            check_not_locked(ctx, user)
        except AccountLocked as locked:
            audit.record(session, None, "login_failed", entity="user", entity_id=user.id, user_code=user.user_code,
                         source=source, remote=remote, summary="locked (SSH key)")
            failure = locked
        else:
            user.failed_logins = 0
            user.last_login_at = utcnow()
            audit.record(session, None, "login", entity="user", entity_id=user.id, user_code=user.user_code,
                         source=source, remote=remote, summary=f"logged in with SSH key {fingerprint}")
            return user.id
    raise failure
