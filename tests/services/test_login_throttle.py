"""Lockout is not a weapon: failed logins are throttled per source address and per (address, user ID),
with backoff, in the database that every process shares; remote guesses never lock the console or keys.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from stron_tui.db.engine import Database
from stron_tui.db.models import AuditEntry, LoginThrottle, User
from stron_tui.errors import AccountLocked, AuthenticationFailed
from stron_tui.services import auth, login_throttle, users
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext

ATTACKER = "203.0.113.66"
STATION = "198.51.100.10"


def attempt(ctx, user_code, password, remote=ATTACKER):
    return auth.authenticate(ctx, user_code, password, source="ssh", remote=remote)


def guess(ctx, user_code, times, remote=ATTACKER):
    for _ in range(times):
        with pytest.raises(AuthenticationFailed):
            attempt(ctx, user_code, "guess", remote)


def throttle_row(ctx, source, user_key):
    with ctx.db.read_session() as session:
        row = session.get(LoginThrottle, (source, user_key))
        return None if row is None else (row.failures, row.blocked_until, row.penalties)


def expire_blocks(ctx):
    """As if the block and the counting window ran out (the penalty count stays)."""
    with ctx.db.session() as session:
        session.execute(update(LoginThrottle).values(blocked_until=utcnow() - timedelta(seconds=1),
                                                     window_started_at=None))


def test_guesses_from_one_address_block_only_that_address_for_that_user(ctx, admin):
    guess(ctx, "Admin", 5)
    with pytest.raises(AccountLocked, match=f"Too many failed logins for this user ID from {ATTACKER}"):
        attempt(ctx, "Admin", "AdminPass1")
    assert attempt(ctx, "Admin", "AdminPass1", remote=STATION).user_code == "Admin"  # another address
    assert auth.authenticate(ctx, "Admin", "AdminPass1").user_code == "Admin"  # the console
    with ctx.db.read_session() as session:
        admin_row = session.scalar(select(User).where(User.builtin_admin.is_(True)))
        assert admin_row.locked_until is None and admin_row.failed_logins == 0


def test_one_address_trying_many_user_ids_is_blocked_whole(ctx, admin):
    limit = ctx.settings.lockout_attempts * login_throttle.ADDRESS_FACTOR
    for number in range(limit):
        with pytest.raises(AuthenticationFailed):
            attempt(ctx, f"user{number}", "guess")  # one guess each: no (address, user) row reaches 5
    with pytest.raises(AccountLocked, match=f"Too many failed logins from {ATTACKER}; logins from there"):
        attempt(ctx, "Admin", "AdminPass1")
    assert attempt(ctx, "Admin", "AdminPass1", remote=STATION).user_code == "Admin"


def test_console_guesses_block_that_user_id_at_the_console_only(ctx, admin):
    users.create_user(ctx, admin, user_code="clerk", role="OnlyVending")
    for _ in range(ctx.settings.lockout_attempts):
        with pytest.raises(AuthenticationFailed):
            auth.authenticate(ctx, "Admin", "guess")
    with pytest.raises(AccountLocked, match="for this user ID from here"):
        auth.authenticate(ctx, "Admin", "AdminPass1")
    assert auth.authenticate(ctx, "clerk", "123456").user_code == "clerk"  # the console as a whole is never blocked
    assert throttle_row(ctx, login_throttle.CONSOLE, "") is None


def test_repeated_blocks_back_off(ctx, admin):
    window = timedelta(minutes=ctx.settings.lockout_minutes)
    guess(ctx, "admin", 5)
    first = throttle_row(ctx, ATTACKER, "admin")
    assert first[2] == 1 and window - timedelta(seconds=5) < first[1] - utcnow() <= window
    expire_blocks(ctx)
    guess(ctx, "admin", 5)
    second = throttle_row(ctx, ATTACKER, "admin")
    assert second[2] == 2 and 2 * window - timedelta(seconds=5) < second[1] - utcnow() <= 2 * window
    expire_blocks(ctx)
    guess(ctx, "admin", 5)
    assert throttle_row(ctx, ATTACKER, "admin")[1] - utcnow() > 3 * window  # 4 x the window now


def test_every_attempt_is_counted_before_its_password_is_checked(ctx, admin):
    # Five requests in flight at once (pipelined): each was counted on arrival, none judged yet.
    limits = login_throttle.Limits.of(ctx.settings)
    for _ in range(ctx.settings.lockout_attempts):
        with ctx.db.session() as session:
            assert login_throttle.begin_attempt(session, limits, ATTACKER, "admin") is None
    with pytest.raises(AccountLocked):
        attempt(ctx, "Admin", "AdminPass1")  # the sixth is refused without a password check


def test_a_success_forgets_that_user_ids_failures_at_that_address(ctx, admin):
    guess(ctx, "Admin", 4)
    attempt(ctx, "Admin", "AdminPass1")
    assert throttle_row(ctx, ATTACKER, "admin") is None
    guess(ctx, "Admin", 4)
    attempt(ctx, "Admin", "AdminPass1")  # four more: still not blocked


def test_every_process_sees_the_same_count(ctx, admin):
    # A second process (its own engine and pool) on the same database: SSH and API hosts share the count.
    other_db = Database(ctx.db.url.render_as_string(hide_password=False))
    other = AppContext(settings=ctx.settings, db=other_db)
    try:
        guess(ctx, "Admin", 3)
        guess(other, "Admin", 2)
        with pytest.raises(AccountLocked):
            attempt(ctx, "Admin", "AdminPass1")
    finally:
        other_db.dispose()


def test_unknown_user_ids_are_throttled_alike_so_a_block_reveals_nobody(ctx, admin):
    guess(ctx, "nobody", 5)
    with pytest.raises(AccountLocked, match="for this user ID from"):
        attempt(ctx, "nobody", "guess")


def test_an_admin_unlock_clears_every_address(ctx, admin):
    guess(ctx, "Admin", 5)
    guess(ctx, "Admin", 5, remote=STATION)
    admin_id = admin.user_id
    assert users.get_user(ctx, admin, admin_id).state == "locked"
    users.unlock_user(ctx, admin, admin_id)
    assert attempt(ctx, "Admin", "AdminPass1").user_code == "Admin"
    assert attempt(ctx, "Admin", "AdminPass1", remote=STATION).user_code == "Admin"
    with ctx.db.read_session() as session:
        assert "user.unlock" in session.scalars(select(AuditEntry.action)).all()


def test_old_rows_are_pruned_when_new_sources_come(ctx, admin):
    guess(ctx, "ghost", 1)
    with ctx.db.session() as session:
        session.execute(update(LoginThrottle).values(last_failure_at=utcnow() - timedelta(days=2)))
    guess(ctx, "other", 1, remote=STATION)
    assert throttle_row(ctx, ATTACKER, "ghost") is None


def test_wrong_passwords_inside_a_session_still_lock_the_user_itself(ctx, admin):
    # Whoever types them holds the session already: the user is locked everywhere, an admin unlocks.
    users.create_user(ctx, admin, user_code="clerk", role="OnlyVending")
    clerk = auth.authenticate(ctx, "clerk", "123456")
    for _ in range(ctx.settings.lockout_attempts):
        with pytest.raises(AuthenticationFailed):
            auth.verify_own_password(ctx, clerk, "guess")
    with pytest.raises(AuthenticationFailed, match="^Wrong user ID or password, or this user may not log in now"):
        auth.authenticate(ctx, "clerk", "123456")


def test_guesses_sent_at_once_get_no_more_password_checks_than_the_limit(ctx, admin, monkeypatch):
    import threading

    import argon2

    checks = []
    lock = threading.Lock()
    real = argon2.PasswordHasher.verify

    def counted(hasher, stored, password):
        with lock:
            checks.append(1)
        return real(hasher, stored, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted)
    start = threading.Barrier(12)
    refused = []

    def one_guess(number):
        start.wait()
        try:
            attempt(ctx, "newcomer", f"guess-{number}")  # no row yet: every thread races to make it
        except AuthenticationFailed as error:
            with lock:
                refused.append(error)

    threads = [threading.Thread(target=one_guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(refused) == 12
    assert len(checks) == ctx.settings.lockout_attempts  # the rest were refused before any check
    assert sum(isinstance(error, AccountLocked) for error in refused) == 12 - ctx.settings.lockout_attempts
