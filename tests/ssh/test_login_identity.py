"""Over SSH, unknown, disabled and locked users are refused after the same work as a wrong password."""

from __future__ import annotations

import asyncssh
import pytest
from sqlalchemy import select

from stron_tui.db.models import AuditEntry, User


async def test_unknown_disabled_and_locked_users_are_refused_after_the_same_work(station, ctx, admin, monkeypatch):
    from datetime import timedelta

    import argon2

    from stron_tui.services import users
    from stron_tui.domain.clock import utcnow

    for code in ("gone", "stuck"):
        users.create_user(ctx, admin, user_code=code, role="OnlyVending")
    with ctx.db.session() as session:
        session.scalar(select(User).where(User.user_code == "gone")).enabled = False
        session.scalar(select(User).where(User.user_code == "stuck")).locked_until = utcnow() + timedelta(hours=1)
    checks = []
    real = argon2.PasswordHasher.verify
    monkeypatch.setattr(argon2.PasswordHasher, "verify", lambda h, s, p: checks.append(1) or real(h, s, p))
    for user_code, password in (("nobody", "123456"), ("gone", "123456"), ("stuck", "123456"), ("Admin", "no")):
        checks.clear()
        with pytest.raises(asyncssh.PermissionDenied):
            await station.connect(user_code, password=password)
        assert len(checks) == 1, user_code  # one password hash check each, a dummy one for "nobody"
    with ctx.db.read_session() as session:
        reasons = session.scalars(select(AuditEntry.summary).where(AuditEntry.action == "login_failed")
                                  .order_by(AuditEntry.id)).all()
    assert reasons == ["unknown user ID", "disabled", "locked", "wrong password"]  # told apart only in the trail
