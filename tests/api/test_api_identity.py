"""A failed API key check looks the same whether the account is unknown, the secret wrong or the account off."""

from __future__ import annotations

import httpx

from stron_tui.services import api_accounts
from tests.api.test_api import _problem


def test_401_is_the_same_for_an_unknown_a_wrong_and_a_disabled_key(ctx, admin, api, admin_key):
    prefix = admin_key.split(".", 1)[0]
    disabled = api_accounts.create_account(ctx, admin, name="Old Partner", role="OnlyVending", enabled=False)
    bodies = []
    with httpx.Client(base_url=api.url) as http:
        for key in ("stron_AAAAAAAAAAAA.secret", f"{prefix}.wrong-secret", disabled.api_key):
            response = http.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
            body = _problem(response, 401, "unauthorized")
            bodies.append((body["title"], body["detail"], response.headers["WWW-Authenticate"]))
    assert len(set(bodies)) == 1 and bodies[0][1] == api_accounts.INVALID_KEY
