"""Money and idempotency rules over real HTTP: keys per partner, 409 on a changed body or price, no free tokens."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from stron_tui.api.client import Conflict, InvalidInput, StronClient
from stron_tui.db.models import ManagementToken, Tariff, Vend
from stron_tui.services import api_accounts
from stron_tui.services.bootstrap import ADMIN_ROLE
from tests.factories import add_meter


def count(ctx, model) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def second_key(ctx, admin, world):
    return api_accounts.create_account(ctx, admin, name="Partner Other", role=ADMIN_ROLE,
                                       station_code=world.station_code).api_key


def test_a_partner_replaying_another_partners_key_gets_its_own_sale(ctx, api, world, meter, client, second_key):
    first = client.vend(meter, amount="5", idempotency_key="shared-key-0001")
    with StronClient(api.url, second_key) as other:
        mine = other.vend(meter, amount="5", idempotency_key="shared-key-0001")
        assert (mine.receipt_number, mine.token) != (first.receipt_number, first.token)
        assert mine.operator == "API Partner Other"
        # Its own retry is its own receipt; its key with another amount is a 409, not anybody's answer.
        assert other.vend(meter, amount="5", idempotency_key="shared-key-0001").token == mine.token
        with pytest.raises(Conflict) as changed:
            other.vend(meter, amount="7", idempotency_key="shared-key-0001")
        assert changed.value.status == 409 and mine.receipt_number in changed.value.detail
        assert first.receipt_number not in changed.value.detail and first.token not in changed.value.detail
    assert count(ctx, Vend) == 2


@pytest.mark.parametrize("change", [{"currency": "EUR"}, {"payment_type": "mobile"}, {"mode": "units"}],
                         ids=["currency", "payment_type", "mode"])
def test_the_same_key_with_another_field_is_409(ctx, api, meter, admin_key, change):
    body = {"meter_number": meter, "mode": "amount", "value": "5", "payment_type": "cash"}
    headers = {"Authorization": f"Bearer {admin_key}", "Idempotency-Key": "field-key-0001"}
    with httpx.Client(base_url=api.url + "/api/v1") as http:
        assert http.post("/vends", json=body, headers=headers).status_code == 200
        response = http.post("/vends", json=body | change, headers=headers)
        assert response.status_code == 409 and response.json()["code"] == "conflict"
        assert "token" not in response.json()
    assert count(ctx, Vend) == 1


def test_a_management_key_with_another_register_or_limit_is_409(ctx, world, meter, client):
    first = client.management_token(meter, "clear_credit", reason="moved out", register=0,
                                    idempotency_key="mgmt-http-0001")
    with pytest.raises(Conflict):
        client.management_token(meter, "clear_credit", reason="moved out", register=1,
                                idempotency_key="mgmt-http-0001")
    client.management_token(meter, "set_power_limit", watts=4000, idempotency_key="mgmt-http-0002")
    with pytest.raises(Conflict):
        client.management_token(meter, "set_power_limit", watts=9000, idempotency_key="mgmt-http-0002")
    assert client.management_token(meter, "clear_credit", reason="moved out", register=0,
                                   idempotency_key="mgmt-http-0001").token == first.token
    assert count(ctx, ManagementToken) == 2


def test_a_vend_carrying_its_quote_sells_exactly_the_preview(ctx, meter, client):
    quote = client.preview(meter, amount="10.00")
    assert len(quote.quote_id) == 32
    with pytest.raises(Conflict) as edited:
        client.vend(meter, amount="12.00", quote_id=quote.quote_id, idempotency_key="quoted-sale-01")
    assert edited.value.code == "price_changed" and "preview again" in edited.value.detail
    assert count(ctx, Vend) == 0
    with ctx.db.session() as session:  # the tariff changes between preview and sale
        tariff = session.scalar(select(Tariff).where(Tariff.name == "Home"))
        tariff.price_per_unit = Decimal("0.25")
        tariff.updated_at = tariff.updated_at.replace(microsecond=(tariff.updated_at.microsecond + 1) % 1000000)
    with pytest.raises(Conflict) as repriced:
        client.vend(meter, amount="10.00", quote_id=quote.quote_id, idempotency_key="quoted-sale-02")
    assert repriced.value.code == "price_changed"
    fresh = client.preview(meter, amount="10.00")
    sold = client.vend(meter, amount="10.00", quote_id=fresh.quote_id, idempotency_key="quoted-sale-03")
    assert (sold.gross, sold.units) == (fresh.gross, fresh.units) == ("10.00", "40.0")
    # Without a quote the sale is priced fresh, as before.
    assert client.vend(meter, amount="10.00", idempotency_key="quoted-sale-04").units == "40.0"


def test_no_free_tokens_and_no_amounts_beyond_the_columns_over_http(ctx, world, client):
    meter = add_meter(world, "4700000002", tariff="exclusive")
    with ctx.db.session() as session:
        session.scalar(select(Tariff).where(Tariff.name == "Business")).price_per_unit = Decimal("0.01")
    # 0.1 kWh x 0.01155 = 0.001155: the energy's cost rounds up, so it costs 0.01, never 0.00.
    cheapest = client.vend(meter, units="0.1", idempotency_key="free-http-0001")
    assert (cheapest.gross, cheapest.units) == ("0.01", "0.1")
    with pytest.raises(InvalidInput) as huge:
        client.vend(meter, amount="999999999999", idempotency_key="huge-http-0001")
    assert "more than one token can carry" in huge.value.detail  # refused before any column could overflow
    sold = client.vend(meter, units="18022.5", idempotency_key="units-http-0001")
    assert sold.units == "18022.4"
    assert world.meter_simulator(meter).enter(sold.token).amount == Decimal("18022.4")
    assert count(ctx, Vend) == 2


def test_preview_and_vend_return_the_breakdown_over_http(ctx, admin, world, client):
    from stron_tui.services import debt, tariffs

    meter = add_meter(world, "4700000009")
    tariffs.add_version(ctx, admin, "Home", "2020-01-01", "5.00", [("50", "0.10"), ("200", "0.20"), ("", "0.30")])
    debt.change_debt(ctx, admin, world.accounts[meter], "added", "100.00", "Arrears", payment_password="AdminPass1")
    debt.set_revenue_terms(ctx, admin, world.accounts[meter], debt.RevenueTerms(recovery_percent="25"))
    # 40.00 USD: debt 10.00, charge 5.00, energy 25.00 = 50 kWh for 5.00 + 100 kWh for 20.00 (docs/money.md).
    quote = client.preview(meter, amount="40.00")
    assert (quote.breakdown.debt_recovered, quote.breakdown.fixed_charge, quote.breakdown.energy) == (
        "10.00", "5.00", "25.00")
    assert [(b.block, b.units, b.amount) for b in quote.breakdown.blocks] == [(1, "50.0", "5.00"),
                                                                           (2, "100.0", "20.00")]
    sold = client.vend(meter, amount="40.00", idempotency_key="breakdown-0001", quote_id=quote.quote_id)
    assert sold.breakdown.debt_still_owed == "90.00" and sold.units == "150.0"
    assert sold.breakdown.blocks == quote.breakdown.blocks
    assert world.meter_simulator(meter).enter(sold.token).amount == Decimal("150.0")
