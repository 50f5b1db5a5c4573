"""Library rules a clerk meets while typing: meter types by name, batch runs with or without check digits,
suggested customer IDs and account numbers, phone numbers and e-mail addresses checked."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from stron_tui.db.models import Customer, Meter, SalesStation
from stron_tui.errors import ValidationError
from stron_tui.services import libraries as L
from stron_tui.services.meters import METER_TYPE_LIST, create_batch, plan_batch
from tests.services.basedata_helpers import drn, meter_values, seed


def _count(ctx, model) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_meter_types_are_one_list_found_by_code_label_or_older_name(ctx, admin):
    seed(ctx, admin, meters=0)
    labels = {kind.code: kind.label for kind in METER_TYPE_LIST}
    assert labels["three-phase-split"] == "Three-phase, split keypad"
    assert {"water-integrated", "water-split", "gas-integrated", "gas-split"} <= set(labels)
    by_label = L.create(ctx, admin, "meters", meter_values(drn(1), meter_type="Three-phase, split keypad"))
    older = L.create(ctx, admin, "meters", meter_values(drn(2), meter_type="single-phase integrated keypad"))
    water = L.create(ctx, admin, "meters", meter_values(drn(3), meter_type="WATER split", utility="water"))
    assert [m["meter_type"] for m in (by_label, older, water)] == [
        "three-phase-split", "single-phase-integrated", "water-split"]
    with pytest.raises(ValidationError) as wrong:
        L.create(ctx, admin, "meters", meter_values(drn(4), meter_type="Gas, integrated keypad"))
    assert wrong.value.field == "utility" and "gas, integrated keypad meter measures gas" in wrong.value.message
    with pytest.raises(ValidationError) as unknown:
        L.create(ctx, admin, "meters", meter_values(drn(5), meter_type="steam"))
    assert unknown.value.field == "meter_type"
    assert _count(ctx, Meter) == 3


@pytest.mark.parametrize("first,last", [
    ("0000000100", "0000000109"),            # serials without check digits
    (drn(100), drn(109)),                    # whole meter numbers
    ("0000000100", drn(109)),                # one of each
])
def test_batch_input_takes_serials_with_or_without_check_digits(ctx, admin, first, last):
    seed(ctx, admin, meters=0)
    plan = plan_batch(ctx, admin, first, last)
    assert (plan.first, plan.last, plan.count) == (drn(100), drn(109), 10)
    shared = {name: value for name, value in meter_values(drn(1)).items() if name != "meter_number"}
    result = create_batch(ctx, admin, first, last, shared)
    assert result.created == 10
    with ctx.db.read_session() as session:
        assert sorted(session.scalars(select(Meter.meter_number))) == [drn(n) for n in range(100, 110)]


def test_batch_input_refuses_a_wrong_check_digit_or_length_and_creates_nothing(ctx, admin):
    seed(ctx, admin, meters=0)
    shared = {name: value for name, value in meter_values(drn(1)).items() if name != "meter_number"}
    wrong_digit = drn(100)[:-1] + str((int(drn(100)[-1]) + 1) % 10)
    with pytest.raises(ValidationError) as bad:
        create_batch(ctx, admin, wrong_digit, drn(109), shared)
    assert bad.value.field == "first" and "check digit" in bad.value.message
    with pytest.raises(ValidationError) as short:
        plan_batch(ctx, admin, "123456789", drn(109))
    assert "without its check digit (10 or 12 digits)" in short.value.message
    assert _count(ctx, Meter) == 0


def test_new_customer_and_account_forms_offer_the_next_free_number(ctx, admin):
    data = seed(ctx, admin, meters=3)
    assert L.new_form(ctx, admin, "customers")["code"] == "C2"  # the newest code is C1
    L.create(ctx, admin, "customers", {"code": "C000040", "name": "Amina Bello"})
    L.create(ctx, admin, "customers", {"code": "c000007", "name": "Kofi Mensah"})
    assert L.new_form(ctx, admin, "customers")["code"] == "C000041"
    form = L.new_form(ctx, admin, "accounts")
    assert form["account_number"] == "A0000001" and form["status"] == "open"
    meters = [m["meter_number"] for m in data["meters"]]
    L.create(ctx, admin, "accounts", form | {"customer_code": "C1", "meter_number": meters[0], "station_code": "ST1",
                                             "tariff_name": "Home"})
    assert L.new_form(ctx, admin, "accounts")["account_number"] == "A0000002"
    # An account numbered from its meter does not set the pattern: the next suggestion stays A-numbered.
    L.create(ctx, admin, "accounts", {"customer_code": "C1", "meter_number": meters[1], "station_code": "ST1",
                                      "tariff_name": "Home"})
    assert L.new_form(ctx, admin, "accounts")["account_number"] == "A0000002"


@pytest.mark.parametrize("phone,message", [
    ("0802 555 0101", "with its country code"),
    ("+234 802", "8 to 15"),
    ("+234 802 555 0101 0000", "8 to 15"),
    ("call me", "not a phone number"),
])
def test_customer_and_station_phones_must_be_e164(ctx, admin, phone, message):
    seed(ctx, admin, meters=0)
    for name, values in (("customers", {"code": "C9", "name": "Ama Owusu"}),
                         ("stations", {"code": "ST9", "name": "Kiosk", "district_code": "D1"})):
        with pytest.raises(ValidationError) as bad:
            L.create(ctx, admin, name, values | {"phone": phone})
        assert bad.value.field == "phone" and message in bad.value.message
    assert (_count(ctx, Customer), _count(ctx, SalesStation)) == (1, 1)


def test_phones_are_kept_in_e164_and_found_as_dialled_at_home(ctx, admin):
    seed(ctx, admin, meters=0)
    made = L.create(ctx, admin, "customers", {"code": "C9", "name": "Ama Owusu", "phone": "00233 (24) 555-0199"})
    assert made["phone"] == "+233245550199"
    assert [row["code"] for row in L.search(ctx, admin, "customers", "024 555 01").rows] == ["C9"]
    station = L.create(ctx, admin, "stations", {"code": "ST9", "name": "Kiosk", "district_code": "D1",
                                                "phone": "+254 20 555 0100"})
    assert station["phone"] == "+254205550100"


@pytest.mark.parametrize("email", ["ngozi@example", "a..b@example.com", ".a@example.com", "a b@example.com",
                                   "a@-example.com", "a@example.c0m", "a@@example.com"])
def test_bad_email_addresses_are_refused(ctx, admin, email):
    seed(ctx, admin, meters=0)
    with pytest.raises(ValidationError) as bad:
        L.create(ctx, admin, "customers", {"code": "C9", "name": "Ama Owusu", "email": email})
    assert bad.value.field == "email"
    assert _count(ctx, Customer) == 1
    good = L.create(ctx, admin, "customers", {"code": "C9", "name": "Zoë", "email": "zoë.o+bills@exämple.co.ke"})
    assert good["email"] == "zoë.o+bills@exämple.co.ke"
