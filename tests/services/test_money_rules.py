"""Money and idempotency rules at the service door: request ids per caller, no token beyond what was paid,
the sale that was previewed, and prices the database can hold."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from stron_tui.db.models import ExchangeRate, ManagementToken, Tariff, Vend
from stron_tui.errors import Conflict, ValidationError
from stron_tui.services import api_accounts, libraries, management, money_settings, vending
from stron_tui.services.bootstrap import ADMIN_ROLE
from stron_tui.domain.clock import utcnow
from stron_tui.services.excel_io import import_library
from stron_tui.services.management import ManagementRequest
from stron_tui.services.vending import PriceChanged, VendRequest
from tests.factories import add_meter, build_world
from tests.services.test_basedata_excel import write_sheet

PAYMENT_PASSWORD = "AdminPass1"

ADMIN_PASSWORD = "AdminPass1"  # the admin fixture's login password, also its payment password


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx)


def partner(ctx, admin, world, name: str):
    """An API account at the test station, as its requests act."""
    key = api_accounts.create_account(ctx, admin, name=name, role=ADMIN_ROLE, station_code=world.station_code).api_key
    return api_accounts.authenticate(ctx, key)


def count(ctx, model) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model))


def sell(ctx, actor, meter, value, **fields):
    request = VendRequest(meter_number=meter, mode=fields.pop("mode", "amount"), value=value,
                          request_id=fields.pop("request_id", vending.new_request_id()), **fields)
    return vending.vend(ctx, actor, request, payment_password=PAYMENT_PASSWORD)


# 14.6 Idempotency keys belong to their caller -----------------------------------------------------------


def test_another_partners_key_is_just_another_key(ctx, admin, world):
    meter = add_meter(world, "4800000001")
    partner_a, partner_b = partner(ctx, admin, world, "Partner A"), partner(ctx, admin, world, "Partner B")
    first = sell(ctx, partner_a, meter, "5", request_id="order-000042")
    # B replays A's key with A's very body: B gets a sale of its own, never A's receipt or token.
    second = sell(ctx, partner_b, meter, "5", request_id="order-000042")
    assert second.receipt_number != first.receipt_number and second.token != first.token
    assert second.operator == "API Partner B" and first.operator == "API Partner A"
    assert count(ctx, Vend) == 2
    # Each retry returns its own caller's receipt; an operator's same key is the operator's own.
    assert sell(ctx, partner_a, meter, "5", request_id="order-000042") == first
    assert sell(ctx, partner_b, meter, "5", request_id="order-000042") == second
    third = sell(ctx, admin, meter, "5", request_id="order-000042")
    assert third.receipt_number not in (first.receipt_number, second.receipt_number)
    assert count(ctx, Vend) == 3


@pytest.mark.parametrize("change", [
    {"value": "6"}, {"currency": "EUR"}, {"payment_type": "mobile"}, {"mode": "units", "value": "25"},
    {"meter": "other"},
], ids=["amount", "currency", "payment_type", "mode", "meter"])
def test_the_same_key_with_any_other_field_is_a_conflict(ctx, admin, world, change):
    meter, other = add_meter(world, "4800000002"), add_meter(world, "4800000003")
    with ctx.db.session() as session:
        session.add(ExchangeRate(from_currency="EUR", to_currency="USD", rate=Decimal("1.08"),
                                 effective_at=utcnow() - timedelta(days=1)))
    seller = partner(ctx, admin, world, "Partner C")
    first = sell(ctx, seller, meter, "5", request_id="order-000043")
    fields = dict(change)
    target = other if fields.pop("meter", None) else meter
    value = fields.pop("value", "5")
    with pytest.raises(Conflict, match=f"already used for a different sale \\(receipt {first.receipt_number}\\)"):
        sell(ctx, seller, target, value, request_id="order-000043", **fields)
    assert count(ctx, Vend) == 1


@pytest.mark.parametrize("change", [
    {"register": 3}, {"meter": "other"}, {"kind": "clear_tamper"}, {"reason": "another reason"},
], ids=["register", "meter", "kind", "reason"])
def test_a_management_key_with_any_other_field_is_a_conflict(ctx, admin, world, change):
    meter, other = add_meter(world, "4800000004"), add_meter(world, "4800000005")
    first = management.issue(ctx, admin, ManagementRequest(meter, "clear_credit", "mgmt-key-0001",
                                                           reason="customer moved", register=0),
                             payment_password=ADMIN_PASSWORD)
    fields = {"kind": "clear_credit", "reason": "customer moved", "register": 0} | change
    target = other if fields.pop("meter", None) else meter
    with pytest.raises(Conflict, match=f"different token \\(receipt {first.receipt_number}\\)"):
        management.issue(ctx, admin, ManagementRequest(target, request_id="mgmt-key-0001", **fields),
                         payment_password=ADMIN_PASSWORD)
    assert count(ctx, ManagementToken) == 1
    # The same request again is the same token.
    assert management.issue(ctx, admin, ManagementRequest(meter, "clear_credit", "mgmt-key-0001",
                                                          reason="customer  moved", register=0),
                            payment_password=ADMIN_PASSWORD) == first


def test_a_power_limit_key_with_another_limit_is_a_conflict_and_other_callers_get_their_own(ctx, admin, world):
    meter = add_meter(world, "4800000006")
    first = management.issue(ctx, admin, ManagementRequest(meter, "set_power_limit", "limit-key-01", watts=5000),
                             payment_password=ADMIN_PASSWORD)
    with pytest.raises(Conflict):
        management.issue(ctx, admin, ManagementRequest(meter, "set_power_limit", "limit-key-01", watts=6000),
                         payment_password=ADMIN_PASSWORD)
    mine = management.issue(ctx, partner(ctx, admin, world, "Partner D"),
                            ManagementRequest(meter, "set_power_limit", "limit-key-01", watts=5000))
    assert mine.receipt_number != first.receipt_number and mine.token != first.token
    assert count(ctx, ManagementToken) == 2


# 14.8 No token carries more than was paid for ------------------------------------------------------------


def test_units_a_token_cannot_carry_are_rounded_down_and_charged_as_carried(ctx, admin, world):
    meter = add_meter(world, "4800000007", tariff="exclusive")
    receipt = sell(ctx, admin, meter, "18022.5", mode="units")
    # Above 18022.4 kWh a token counts in 10 kWh steps: 18022.5 is sold as 18022.4 kWh (never 18032.4),
    # charged 18022.4 x 0.10 x 1.05 x 1.10 = 2081.5872 -> 2081.59.
    assert (receipt.units, receipt.gross) == (Decimal("18022.4"), Decimal("2081.59"))
    keypad = world.meter_simulator(meter)  # tokencore's meter: decrypts and decodes the token as a meter does
    assert keypad.enter(receipt.token).amount == Decimal("18022.4") == keypad.credit[0]
    with ctx.db.read_session() as session:
        assert session.scalar(select(Vend.units)) == Decimal("18022.4")


def test_a_sale_is_never_for_no_money(ctx, admin, world):
    meter = add_meter(world, "4800000008", tariff="exclusive")
    with ctx.db.session() as session:
        session.get(Tariff, world.tariffs["exclusive"]).price_per_unit = Decimal("0.01")
    # By units the energy's cost rounds UP to the minor unit (never more energy than paid for):
    # 0.1 kWh x 0.01 x 1.155 = 0.001155 -> 0.01 USD, not 0.00.
    quote = vending.preview(ctx, admin, VendRequest(meter, "units", "0.1"))
    assert (quote.gross, quote.units) == (Decimal("0.01"), Decimal("0.1"))
    # By amount nothing below one minor unit can be paid.
    with pytest.raises(ValidationError, match="2 decimal places"):
        vending.vend(ctx, admin, VendRequest(meter, "amount", "0.001", request_id="free-sale-0001"),
                     payment_password=PAYMENT_PASSWORD)
    assert count(ctx, Vend) == 0


# 14.9 The sale is the sale that was previewed -------------------------------------------------------------


def test_a_sale_edited_after_its_preview_is_refused(ctx, admin, world):
    meter = add_meter(world, "4800000009")
    quote = vending.preview(ctx, admin, VendRequest(meter, "amount", "10"))
    assert len(quote.quote_id) == 32
    for edited in (VendRequest(meter, "amount", "20", request_id="edit-sale-001", quote_id=quote.quote_id),
                   VendRequest(meter, "units", "10", request_id="edit-sale-002", quote_id=quote.quote_id),
                   VendRequest(meter, "amount", "10", payment_type="mobile", request_id="edit-sale-003",
                               quote_id=quote.quote_id)):
        with pytest.raises(PriceChanged, match="preview again"):
            vending.vend(ctx, admin, edited, payment_password=PAYMENT_PASSWORD)
    assert count(ctx, Vend) == 0
    sold = vending.vend(ctx, admin, VendRequest(meter, "amount", "10", request_id="edit-sale-004",
                                                quote_id=quote.quote_id), payment_password=PAYMENT_PASSWORD)
    assert (sold.gross, sold.units) == (quote.gross, quote.units) == (Decimal("10.00"), Decimal("50.0"))


def test_a_tariff_edited_between_preview_and_sale_needs_a_new_preview(ctx, admin, world):
    meter = add_meter(world, "4800000010")
    quote = vending.preview(ctx, admin, VendRequest(meter, "amount", "10"))
    raw = {"name": "Home", "utility": "electricity", "unit": "kWh", "price_per_unit": "0.25", "currency_code": "USD",
           "vat_rate": "15", "excise_rate": "2", "prices_include_vat": "y", "min_purchase": "1",
           "max_purchase": "1000", "active": "y"}
    libraries.update(ctx, admin, "tariffs", world.tariffs["inclusive"], raw)
    with pytest.raises(PriceChanged):
        vending.vend(ctx, admin, VendRequest(meter, "amount", "10", request_id="tariff-sale-1",
                                             quote_id=quote.quote_id), payment_password=PAYMENT_PASSWORD)
    assert count(ctx, Vend) == 0
    fresh = vending.preview(ctx, admin, VendRequest(meter, "amount", "10"))
    assert fresh.quote_id != quote.quote_id and fresh.units == Decimal("40.0")
    sold = vending.vend(ctx, admin, VendRequest(meter, "amount", "10", request_id="tariff-sale-2",
                                                quote_id=fresh.quote_id), payment_password=PAYMENT_PASSWORD)
    assert sold.units == Decimal("40.0") and sold.price_per_unit == Decimal("0.25")


def test_a_new_exchange_rate_between_preview_and_sale_needs_a_new_preview(ctx, admin, world):
    meter = add_meter(world, "4800000011")
    money_settings.add_rate(ctx, admin, from_currency="EUR", to_currency="USD", rate="1.08")
    quote = vending.preview(ctx, admin, VendRequest(meter, "amount", "10", currency="EUR"))
    with ctx.db.session() as session:  # a rate that took effect a moment after the preview
        session.add(ExchangeRate(from_currency="EUR", to_currency="USD", rate=Decimal("1.10"),
                                 effective_at=utcnow()))
    with pytest.raises(PriceChanged):
        vending.vend(ctx, admin, VendRequest(meter, "amount", "10", currency="EUR", request_id="rate-sale-01",
                                             quote_id=quote.quote_id), payment_password=PAYMENT_PASSWORD)
    assert count(ctx, Vend) == 0


# 14.10 Prices the database cannot hold are refused ----------------------------------------------------------


TARIFF = {"name": "Tiny", "utility": "electricity", "unit": "kWh", "price_per_unit": "0.0000001",
          "currency_code": "USD", "vat_rate": "0", "excise_rate": "0", "prices_include_vat": "y",
          "min_purchase": "0", "max_purchase": "", "active": "y"}


@pytest.mark.parametrize("field, value, message", [
    ("price_per_unit", "0.0000001", "at most 6 decimal places"),
    ("price_per_unit", "1000000000000", "must be below"),
    ("vat_rate", "7.12345", "at most 4 decimal places"),
    ("min_purchase", "0.00001", "at most 4 decimal places"),
    ("min_purchase", "1.005", "more decimal places than USD has"),
])
def test_the_tariff_form_refuses_what_the_columns_cannot_hold(ctx, admin, world, field, value, message):
    before = count(ctx, Tariff)
    raw = TARIFF | {"price_per_unit": "0.25", field: value}
    with pytest.raises(ValidationError, match=message):
        libraries.create(ctx, admin, "tariffs", raw)
    assert count(ctx, Tariff) == before


def test_the_tariff_import_refuses_a_price_below_the_columns_scale(ctx, admin, world, tmp_path):
    before = count(ctx, Tariff)
    header = ["Name", "Utility", "Unit", "Price per unit", "Currency", "VAT rate %", "Excise rate %",
              "Prices include VAT", "Minimum purchase", "Maximum purchase", "Active"]
    path = write_sheet(tmp_path / "tariffs.xlsx", header, [
        ["Fine", "electricity", "kWh", "0.25", "USD", "0", "0", "y", "0", "", "y"],
        ["Tiny", "electricity", "kWh", "0.0000001", "USD", "0", "0", "y", "0", "", "y"],
    ])
    report = import_library(ctx, admin, "tariffs", path)
    assert [error.reason for error in report.errors if "6 decimal places" in error.reason]
    assert count(ctx, Tariff) == before  # all or nothing


def test_exchange_rates_are_refused_beyond_the_columns_scale(ctx, admin, world):
    with pytest.raises(ValidationError, match="at most 6 decimal places"):
        money_settings.add_rate(ctx, admin, from_currency="EUR", to_currency="USD", rate="0.0000001")
    with pytest.raises(ValidationError, match="must be below"):
        money_settings.add_rate(ctx, admin, from_currency="EUR", to_currency="USD", rate="1000000000000")
    assert count(ctx, ExchangeRate) == 0
    # Trailing zeros are not extra places.
    assert money_settings.add_rate(ctx, admin, from_currency="EUR", to_currency="USD",
                                   rate="1.0800000").rate == Decimal("1.08")


def test_a_token_always_belongs_to_an_operator_or_an_api_account(ctx, admin, world):
    from stron_tui.errors import AuthenticationFailed, PermissionDenied
    from stron_tui.services.permissions import SYSTEM_ACTOR

    meter = add_meter(world, "4800000012")
    with pytest.raises(AuthenticationFailed):  # a token needs an operator's payment password first
        management.issue(ctx, SYSTEM_ACTOR, ManagementRequest(meter, "clear_tamper", "system-token-1", reason="x"),
                         payment_password=ADMIN_PASSWORD)
    with pytest.raises(AuthenticationFailed):  # a sale needs an operator's payment password first
        vending.vend(ctx, SYSTEM_ACTOR, VendRequest(meter, "amount", "5", request_id="system-sale-01"))
    assert count(ctx, Vend) == count(ctx, ManagementToken) == 0
