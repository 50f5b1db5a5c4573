"""Login throttling per source address and per (address, user ID), as OpenSSH's PerSourcePenalties and
fail2ban do it, kept in the database so the TUI, SSH and API processes of every host share it.

Why not lock the user: a per-user lock lets anyone who can reach the login lock
anyone out (five guesses at Admin, forever). Here a flood from one address
throttles that address only:

- (address, user ID): `lockout_attempts` failures (default 5) within
  `lockout_minutes` (default 15) block that user ID from that address for
  `lockout_minutes`, doubled for each further block (backoff) up to
  `MAX_BLOCK`; the same user from anywhere else is unaffected.
- address: `ADDRESS_FACTOR` x `lockout_attempts` failures (default 20) for any
  user IDs within the window block the whole address the same way (one
  address trying many user IDs). The local console is no address: it is never
  blocked as a whole, only per user ID there.
- User IDs are keyed as typed (folded), known or not, so a block says nothing
  about whether a user exists.
- A success clears the (address, user ID) row and takes one failure off the
  address; penalties are forgotten `FORGET_AFTER` after the last failure.
- Key logins never look here: a key can't be guessed, and a flood of password
  guesses must not lock a station out of its key login.

Every attempt is counted before the password is checked, so requests sent
faster than a check takes (pipelined) can't slip past the limit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stron_tui.db.models import LoginThrottle
from stron_tui.db.queries import for_update
from stron_tui.errors import AccountLocked
from stron_tui.domain.clock import utcnow
from stron_tui.domain.text import fold

ADDRESS_FACTOR = 4
MAX_BLOCK = timedelta(hours=24)
FORGET_AFTER = timedelta(hours=24)
CONSOLE = "console"
ANY_USER = ""


def address_key(source: str, remote: str) -> str:
    """The source a failure is counted against: the client's address, or the local console."""
    remote = (remote or "").strip()
    if remote:
        return remote[:80]
    return CONSOLE if source in ("tui", "cli") else f"unknown:{source}"[:80]


def terminal_remote() -> str:
    """The client's address when this terminal came in through OpenSSH (ForceCommand), else ""."""
    connection = os.environ.get("SSH_CONNECTION", "").split()
    return connection[0] if connection else ""


def user_key(user_code: str) -> str:
    return fold(user_code or "")[:40]


@dataclass(frozen=True)
class Limits:
    attempts: int
    window: timedelta
    zone: tzinfo = timezone.utc  # for the time in messages

    @classmethod
    def of(cls, settings) -> "Limits":
        return cls(max(1, settings.lockout_attempts), timedelta(minutes=max(1, settings.lockout_minutes)),
                   settings.zone)

    def allowed(self, key: str) -> int:
        return self.attempts * ADDRESS_FACTOR if key == ANY_USER else self.attempts

    def block_for(self, penalties: int) -> timedelta:
        """The first block lasts the window; each further one twice the last, up to MAX_BLOCK."""
        return min(self.window * (2 ** min(max(penalties - 1, 0), 16)), MAX_BLOCK)


def _keys(address: str, key: str) -> list[str]:
    return [key] if address == CONSOLE else [key, ANY_USER]


def _row(session: Session, address: str, key: str, now: datetime, *, create: bool) -> LoginThrottle | None:
    query = for_update(select(LoginThrottle).where(LoginThrottle.source == address, LoginThrottle.user_key == key),
                       LoginThrottle)
    row = session.scalar(query)
    if row is not None or not create:
        return row
    # Old rows go when new ones come, so guessed user IDs can't fill the table.
    session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failure_at < now - FORGET_AFTER,
        or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now)))
    try:
        with session.begin_nested():
            session.add(LoginThrottle(source=address, user_key=key, failures=0, penalties=0, last_failure_at=now))
    except IntegrityError:  # another process made it just now
        pass
    return session.scalar(query)


def _blocked(row: LoginThrottle, limits: Limits, address: str, key: str) -> AccountLocked:
    until = row.blocked_until
    shown = until.astimezone(limits.zone).strftime("%H:%M on %Y-%m-%d")
    if key == ANY_USER:
        text = f"Too many failed logins from {address}; logins from there are refused until {shown}."
    else:
        text = (f"Too many failed logins for this user ID from {address if address != CONSOLE else 'here'}; "
                f"try again after {shown}, or ask an administrator to unlock it.")
    return AccountLocked(text, until)


def _block(row: LoginThrottle, limits: Limits, now: datetime) -> None:
    row.penalties += 1
    row.blocked_until = now + limits.block_for(row.penalties)
    row.failures = 0
    row.window_started_at = None


def begin_attempt(session: Session, limits: Limits, address: str, key: str) -> AccountLocked | None:
    """Count one login attempt before the password is checked; the refusal to raise if the source is blocked.

    Runs in its own transaction, which the caller commits (a block included) before raising or checking
    the password.
    """
    now = utcnow()
    rows = [(k, _row(session, address, k, now, create=True)) for k in _keys(address, key)]
    for k, row in rows:
        if row.last_failure_at < now - FORGET_AFTER:
            row.penalties = 0
        if row.window_started_at is None or row.window_started_at <= now - limits.window:
            row.failures, row.window_started_at = 0, now
        if row.blocked_until is not None and row.blocked_until > now:
            return _blocked(row, limits, address, k)
        if row.failures >= limits.allowed(k):  # attempts already counted but not yet judged
            _block(row, limits, now)
            return _blocked(row, limits, address, k)
    for _, row in rows:
        row.failures += 1
        row.last_failure_at = now
    return None


def failed(session: Session, limits: Limits, address: str, key: str) -> list[str]:
    """After a wrong password: block what reached its limit. Returns the keys blocked now."""
    now = utcnow()
    blocked = []
    for k in _keys(address, key):
        row = _row(session, address, k, now, create=False)
        if row is not None and row.failures >= limits.allowed(k):
            _block(row, limits, now)
            blocked.append(k)
    return blocked


def succeeded(session: Session, address: str, key: str) -> None:
    """After a good login: forget this user ID's failures here; the address's count loses this attempt."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.source == address, LoginThrottle.user_key == key))
    if address != CONSOLE:
        row = _row(session, address, ANY_USER, utcnow(), create=False)
        if row is not None and row.failures > 0:
            row.failures -= 1


def blocked_user_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of these user keys are blocked from some address now (for the Users list)."""
    if not keys:
        return set()
    rows = session.scalars(select(LoginThrottle.user_key).where(
        LoginThrottle.user_key.in_(keys), LoginThrottle.blocked_until > utcnow()))
    return set(rows)


def clear_user(session: Session, key: str) -> int:
    """Forget every address's failures and blocks for a user ID (an administrator's unlock)."""
    if not key:
        return 0
    return session.execute(delete(LoginThrottle).where(LoginThrottle.user_key == key)).rowcount or 0
