"""The forced first change replaces the temporary login and payment passwords together, or neither."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stron_tui.db.models import User
from stron_tui.errors import AuthenticationFailed, ValidationError
from stron_tui.services import auth, users
from stron_tui.services.passwords import verify_password


def _stored(ctx, user_code):
    with ctx.db.read_session() as session:
        return session.scalar(select(User).where(User.user_code == user_code))


def test_both_temporary_passwords_change_in_one_step_or_not_at_all(ctx, admin):
    users.create_user(ctx, admin, user_code="till7", role="OnlyVending")
    actor = auth.authenticate(ctx, "till7", "123456")
    assert auth.password_state(ctx, actor) == auth.PasswordState(True, True, True)
    with pytest.raises(ValidationError) as refused:  # a payment password too short: the login one stays too
        auth.replace_temporary_passwords(ctx, actor, "123456", new_login="Till-login-7", new_payment="12")
    assert refused.value.field == "new_payment"
    with pytest.raises(AuthenticationFailed):
        auth.replace_temporary_passwords(ctx, actor, "wrong", new_login="Till-login-7", new_payment="Till-pay-7")
    user = _stored(ctx, "till7")
    assert user.must_change_password and user.must_change_payment_password
    assert verify_password(user.password_hash, "123456")
    auth.replace_temporary_passwords(ctx, actor, "123456", new_login="Till-login-7", new_payment="Till-pay-7")
    user = _stored(ctx, "till7")
    assert not user.must_change_password and not user.must_change_payment_password
    assert verify_password(user.password_hash, "Till-login-7")
    assert verify_password(user.payment_password_hash, "Till-pay-7")
    again = auth.authenticate(ctx, "till7", "Till-login-7")
    auth.confirm_payment(ctx, again, "Till-pay-7")  # the first sale's confirmation is accepted
    assert auth.password_state(ctx, again) == auth.PasswordState(False, False, True)
