"""API accounts: the key is shown once, stored only hashed, rotatable; every change audited; rights enforced."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stron_tui.db.models import ApiAccount, AuditEntry
from stron_tui.errors import AuthenticationFailed, Conflict, PermissionDenied, ValidationError
from stron_tui.services import api_accounts, users


def test_create_rotate_disable_are_audited_and_the_key_is_never_stored(ctx, admin, world):
    issued = api_accounts.create_account(ctx, admin, name="Mobile Money", role="OnlyVending",
                                         station_code="s1", rate_limit_per_minute="120")
    assert issued.account.station_code == "S1" and issued.account.rate_limit_per_minute == 120
    actor = api_accounts.authenticate(ctx, issued.api_key)
    assert (actor.source, actor.api_account_id, actor.station_id) == ("api", issued.account.id, world.station_id)
    assert actor.permissions == {"topup.vend", "topup.reprint", "topup.shift"}

    rotated = api_accounts.rotate_key(ctx, admin, issued.account.id)
    with pytest.raises(AuthenticationFailed):
        api_accounts.authenticate(ctx, issued.api_key)
    api_accounts.set_enabled(ctx, admin, issued.account.id, False)
    with pytest.raises(AuthenticationFailed) as refused:
        api_accounts.authenticate(ctx, rotated.api_key)
    assert rotated.api_key not in str(refused.value)

    with ctx.db.read_session() as session:
        row = session.scalar(select(ApiAccount))
        stored = " ".join(str(v) for v in (row.key_prefix, row.key_hash))
        trail = session.scalars(select(AuditEntry).where(AuditEntry.entity == "api_account")).all()
    for key in (issued.api_key, rotated.api_key):
        assert key not in stored and key.split(".", 1)[1] not in stored
        assert all(key.split(".", 1)[1] not in (e.summary + e.detail) for e in trail)
    assert [e.action for e in trail] == ["api_account.created", "api_account.rotated", "api_account.disabled"]


def test_bad_input_and_missing_rights_are_refused(ctx, admin, world):
    api_accounts.create_account(ctx, admin, name="Kiosk", role="OnlyVending")
    with pytest.raises(Conflict):
        api_accounts.create_account(ctx, admin, name="KIOSK", role="OnlyVending")
    with pytest.raises(ValidationError) as bad:
        api_accounts.create_account(ctx, admin, name="Other", role="OnlyVending", rate_limit_per_minute=0)
    assert bad.value.field == "rate_limit_per_minute"
    with pytest.raises(ValidationError):
        api_accounts.create_account(ctx, admin, name="Other", role="OnlyVending", station_code="NOPE")
    users.create_user(ctx, admin, user_code="cashier", name="Cashier", role="OnlyVending")
    from stron_tui.services import auth

    cashier = auth.authenticate(ctx, "cashier", "123456")
    with pytest.raises(PermissionDenied):
        api_accounts.list_accounts(ctx, cashier)
    for junk in ("", "Bearer", "stron_short.x", "stron_" + "a" * 12 + ".", "x" * 500):
        with pytest.raises(AuthenticationFailed):
            api_accounts.authenticate(ctx, junk)
