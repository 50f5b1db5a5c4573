"""Failed logins look the same for unknown, existing, disabled, locked and password-less users: one message,
and one password hash check each (so the time taken says nothing either).
"""

from __future__ import annotations

from datetime import timedelta

import argon2
import pytest
from sqlalchemy import func, select

from stron_tui.db.models import ApiAccount, User
from stron_tui.errors import AuthenticationFailed
from stron_tui.services import api_accounts, auth, users
from stron_tui.domain.clock import utcnow

SAME = "Wrong user ID or password, or this user may not log in now."


class HashChecks:
    """Counts real argon2 verifications (the work a failed login costs)."""

    def __init__(self, monkeypatch):
        self.count = 0
        real = argon2.PasswordHasher.verify

        def counted(hasher, stored, password):
            self.count += 1
            return real(hasher, stored, password)

        monkeypatch.setattr(argon2.PasswordHasher, "verify", counted)


@pytest.fixture
def people(ctx, admin):
    """An ordinary, a disabled, a locked (wrong passwords in a session) and a password-less user."""
    for code in ("clerk", "gone", "stuck", "fresh"):
        users.create_user(ctx, admin, user_code=code, role="OnlyVending")
    with ctx.db.session() as session:
        rows = {row.user_code: row for row in session.scalars(select(User))}
        rows["gone"].enabled = False
        rows["stuck"].locked_until = utcnow() + timedelta(minutes=15)
        rows["fresh"].password_hash = None


@pytest.mark.parametrize(("user_code", "password"), [
    ("nobody", "123456"),  # unknown
    ("clerk", "not-it"),  # exists, wrong password
    ("gone", "123456"),  # disabled, right password
    ("stuck", "123456"),  # locked, right password
    ("fresh", "123456"),  # no password yet
    ("", "123456"),  # nothing typed (the SSH and API doors can send that)
])
@pytest.mark.parametrize("door", [("tui", ""), ("ssh", "192.0.2.1")])
def test_every_failed_login_has_the_same_message_and_one_hash_check(ctx, people, monkeypatch, user_code,
                                                                    password, door):
    checks = HashChecks(monkeypatch)
    with pytest.raises(AuthenticationFailed) as refused:
        auth.authenticate(ctx, user_code, password, source=door[0], remote=door[1])
    assert type(refused.value) is AuthenticationFailed and str(refused.value) == SAME
    assert checks.count == 1


def test_a_good_login_also_costs_exactly_one_hash_check(ctx, people, monkeypatch):
    checks = HashChecks(monkeypatch)
    assert auth.authenticate(ctx, "clerk", "123456").user_code == "clerk"
    assert checks.count == 1


def test_api_keys_fail_alike_unknown_wrong_or_disabled(ctx, admin, monkeypatch):
    good = api_accounts.create_account(ctx, admin, name="Kiosk", role="OnlyVending")
    off = api_accounts.create_account(ctx, admin, name="Old", role="OnlyVending", enabled=False)
    prefix, _ = api_accounts.split_key(good.api_key)
    compared = []
    real = api_accounts.hmac.compare_digest
    monkeypatch.setattr(api_accounts.hmac, "compare_digest", lambda a, b: compared.append(1) or real(a, b))
    messages = set()
    for key in ("stron_AAAAAAAAAAAA.secret", f"stron_{prefix}.wrong-secret", off.api_key):
        compared.clear()
        with pytest.raises(AuthenticationFailed) as refused:
            api_accounts.authenticate(ctx, key)
        messages.add(str(refused.value))
        assert len(compared) == 1  # one digest comparison, whether or not the account exists
    assert messages == {api_accounts.INVALID_KEY}
    with ctx.db.read_session() as session:  # a failed key writes nothing (no last-used stamp)
        assert session.scalar(select(func.count()).select_from(ApiAccount)
                              .where(ApiAccount.last_used_at.is_not(None))) == 0
