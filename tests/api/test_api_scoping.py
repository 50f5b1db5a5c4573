"""Data scoping over HTTP: a partner sees its own sales and tokens, never another partner's or station's.

Partner B walks receipt and transaction numbers around partner A's freshly
issued clear-credit token and reads every route that shows sales or tokens:
each answers as for a number never issued, and A's token digits appear in no
response body.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from stron_tui.db.models import Account, ManagementToken, Vend
from stron_tui.services import api_accounts
from tests.scoping import build_scoped


@pytest.fixture
def scoped(ctx, admin):
    return build_scoped(ctx, admin)


def _http(api, key: str) -> httpx.Client:
    return httpx.Client(base_url=api.url + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _walkable_numbers(ctx) -> list[str]:
    """Every receipt and transaction number issued, and the next few nobody has issued yet."""
    with ctx.db.read_session() as session:
        numbers = [n for row in session.execute(select(Vend.receipt_number, Vend.transaction_number)) for n in row]
        numbers += [n for row in session.execute(select(ManagementToken.receipt_number,
                                                        ManagementToken.transaction_number)) for n in row]
    for index in range(1, 12):
        numbers += [f"S1-{index:08d}", f"V{index:010d}", f"S1-M{index:07d}", f"M{index:010d}"]
    return list(dict.fromkeys(numbers))


def _same_as_never_issued(response: httpx.Response, never: dict, number: str) -> None:
    assert response.status_code == 404, response.text
    body = response.json()
    assert body["detail"].replace(number, "<number>") == never["detail"]
    assert {k: v for k, v in body.items() if k not in ("detail", "instance")} == {
        k: v for k, v in never.items() if k not in ("detail", "instance")}


def test_partner_walking_receipt_numbers_finds_only_its_own(ctx, admin, scoped, api):
    with _http(api, scoped.key_a) as a:
        fresh = a.post(f"/meters/{scoped.m1}/clear-credit", json={"reason": "new tenant"},
                       headers={"Idempotency-Key": "fresh-credit-0001"})
        assert fresh.status_code == 200, fresh.text
        fresh_token = fresh.json()["token"]
        assert a.get(f"/receipts/{fresh.json()['receipt_number']}").json()["token"] == fresh_token
    secrets = scoped.secrets_of_a() + [fresh_token]
    own_numbers = {scoped.a_sale.receipt_number, scoped.a_sale.transaction_number,
                   scoped.a_credit.receipt_number, scoped.a_credit.transaction_number,
                   fresh.json()["receipt_number"], fresh.json()["transaction_number"]}
    with _http(api, scoped.key_b) as b:
        never = b.get("/receipts/NEVER-ISSUED-1").json()
        never["detail"] = never["detail"].replace("NEVER-ISSUED-1", "<number>")
        for number in _walkable_numbers(ctx):
            response = b.get(f"/receipts/{number}")
            _same_as_never_issued(response, never, number)
            for token in secrets:
                assert token not in response.text
    with _http(api, scoped.key_a) as a:
        found = {n for n in _walkable_numbers(ctx) if a.get(f"/receipts/{n}").status_code == 200}
        assert found == own_numbers


def test_every_read_route_hides_another_partners_sales_and_tokens(ctx, admin, scoped, api):
    with ctx.db.read_session() as session:
        account_id = session.scalar(select(Account.id).where(
            Account.account_number == scoped.world.accounts[scoped.m1]))
    account_number = scoped.world.accounts[scoped.m1]
    numbers = ",".join([scoped.a_sale.transaction_number, scoped.s1_sale.transaction_number])
    routes = [
        f"/meters/{scoped.m1}/vends", f"/meters/{scoped.m1}/tokens", f"/accounts/{account_number}",
        f"/accounts/by-id/{account_id}", "/reports/receipts", f"/reports/transactions?numbers={numbers}",
        "/reports/cashup", "/reports/monthly-summary", "/reports/customer-payments",
        f"/reports/customer-payments?station_id={scoped.world.station_id}", "/reports/districts",
        "/reports/revenue-by-part", "/reports/debt", "/reports/units-per-block",
    ]
    with _http(api, scoped.key_b) as b:
        for route in routes:
            response = b.get(route)
            assert response.status_code == 200, (route, response.text)
            for token in scoped.secrets_of_s1() + [scoped.s2_sale.token]:
                assert token not in response.text, route
        assert b.get(f"/meters/{scoped.m1}/vends").json()["items"] == []
        assert b.get(f"/meters/{scoped.m1}/tokens").json()["items"] == []
        account = b.get(f"/accounts/{account_number}").json()
        assert account["vends"] == [] and account["tokens"] == [] and account["vend_count"] == 0
        lookup = b.get(f"/reports/transactions?numbers={numbers}").json()
        assert lookup["items"] == [] and lookup["extra"]["missing"] == numbers.split(",")
        assert b.get("/reports/receipts").json()["items"] == []
    # The control: partner A reads its own sale and token on the same routes, and nothing of Admin's.
    with _http(api, scoped.key_a) as a:
        assert [v["token"] for v in a.get(f"/meters/{scoped.m1}/vends").json()["items"]] == [scoped.a_sale.token]
        assert [t["tokens"] for t in a.get(f"/meters/{scoped.m1}/tokens").json()["items"]] == [
            [scoped.a_credit.token]]
        receipts = a.get("/reports/receipts").json()["items"]
        assert [r["receipt_number"] for r in receipts] == [scoped.a_sale.receipt_number]
        assert scoped.s1_sale.token not in a.get(f"/accounts/{account_number}").text


def test_an_all_stations_partner_sees_every_sale(ctx, admin, scoped, api):
    from stron_tui.services import roles

    roles.create_role(ctx, admin, name="Head Office", permissions={"basedata.view", "reports.view",
                                                                   "reports.all_stations", "topup.reprint"})
    key = api_accounts.create_account(ctx, admin, name="Head Office", role="Head Office").api_key
    with _http(api, key) as head_office:
        for receipt in (scoped.s1_sale, scoped.s2_sale, scoped.a_credit):
            assert head_office.get(f"/receipts/{receipt.receipt_number}").json()["token"] == receipt.token
        assert len(head_office.get(f"/meters/{scoped.m1}/vends").json()["items"]) == 2
