"""Base Data libraries: create, edit, search, remove, rules between libraries, permissions, audit."""

from __future__ import annotations

import pytest
import tokencore
from sqlalchemy import func, select

from stron_tui.db.models import Account, AuditEntry, Customer, Meter, Tariff, VendingKey
from stron_tui.errors import Conflict, PermissionDenied, ValidationError
from stron_tui.services import libraries as L
from stron_tui.services import users
from stron_tui.services.accounts import account_view
from stron_tui.services.auth import actor_for
from stron_tui.services.meters import create_batch, plan_batch
from stron_tui.services.supply_groups import add_supply_group, list_supply_groups
from tests.services.basedata_helpers import SGC, drn, meter_values, seed


def test_meter_create_sets_installed_key_data_and_edit_keeps_it(ctx, admin):
    data = seed(ctx, admin, meters=1)
    meter = data["meters"][0]
    add_supply_group(ctx, admin, sgc=SGC, krn=2, dkga="02", generate=True)
    L.update(ctx, admin, "meters", meter.id, meter_values(meter["meter_number"], krn="2", ti="5"))
    with ctx.db.read_session() as session:
        row = session.get(Meter, meter.id)
        assert (row.krn, row.ti) == (2, 5)
        assert (row.installed_krn, row.installed_ti) == (1, 1)  # the next vend issues key change tokens
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "meters.update")).one()
        assert '"krn": [1, 2]' in entry.detail


def test_meter_number_check_digit_and_key_rules(ctx, admin):
    seed(ctx, admin, meters=0)
    with pytest.raises(ValidationError) as error:
        L.create(ctx, admin, "meters", meter_values("01234567890"))
    assert error.value.field == "meter_number" and "check digit" in error.value.message
    with pytest.raises(ValidationError) as error:
        L.create(ctx, admin, "meters", meter_values(drn(7), sgc="123456"))
    assert error.value.field == "sgc" and "no vending key" in error.value.message
    with pytest.raises(ValidationError) as error:
        L.create(ctx, admin, "meters", meter_values(drn(7), dkga="04", ea="11"))
    assert error.value.field == "dkga"
    with pytest.raises(ValidationError) as error:
        L.create(ctx, admin, "meters", meter_values(drn(7), meter_type="water"))
    assert error.value.field == "utility"


def test_batch_input_computes_check_digits_and_skips_existing(ctx, admin):
    seed(ctx, admin, meters=3)  # serials 1..3 exist
    first, last = drn(1), drn(25)
    assert first == "0000000001" + tokencore.drn_check_digit("0000000001")
    plan = plan_batch(ctx, admin, first, last)
    assert (plan.count, plan.existing, plan.to_create) == (25, 3, 22)
    assert plan.existing_sample == (drn(1), drn(2), drn(3))
    seen = []
    result = create_batch(ctx, admin, first, last, meter_values(first), progress=lambda d, t: seen.append((d, t)))
    assert (result.created, result.skipped) == (22, 3)
    assert seen[-1] == (25, 25)
    with ctx.db.read_session() as session:
        numbers = list(session.scalars(select(Meter.meter_number).order_by(Meter.meter_number)))
        assert len(numbers) == 25
        for number in numbers:
            assert tokencore.validate_drn(number) == number
            assert number[-1] == tokencore.drn_check_digit(number[:-1])
        row = session.scalar(select(Meter).where(Meter.meter_number == drn(25)))
        assert row.installed_sgc == SGC and row.installed_krn == 1


def test_batch_input_refuses_bad_ranges(ctx, admin):
    seed(ctx, admin, meters=0)
    with pytest.raises(ValidationError, match="comes before"):
        plan_batch(ctx, admin, drn(10), drn(2))
    with pytest.raises(ValidationError, match="same number of digits"):
        plan_batch(ctx, admin, drn(1), drn(2, width=12))


def test_tariff_in_use_cannot_be_deleted_but_can_be_retired(ctx, admin):
    data = seed(ctx, admin, meters=1)
    L.create(ctx, admin, "accounts", {"customer_code": "C1", "meter_number": data["meters"][0]["meter_number"],
                                      "station_code": "ST1", "tariff_name": "Home"})
    tariff = data["tariff"]
    with pytest.raises(Conflict, match="accounts use it"):
        L.remove(ctx, admin, "tariffs", tariff.id)
    values = L.form_text(L.library("tariffs"), tariff) | {"active": "n"}
    retired = L.update(ctx, admin, "tariffs", tariff.id, values)
    assert retired["active"] is False
    unused = L.create(ctx, admin, "tariffs", {"name": "Spare", "price_per_unit": "1", "currency_code": "USD"})
    L.remove(ctx, admin, "tariffs", unused.id)
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Tariff)) == 1


def test_meter_cannot_be_on_two_open_accounts(ctx, admin):
    data = seed(ctx, admin, meters=1)
    number = data["meters"][0]["meter_number"]
    L.create(ctx, admin, "customers", {"code": "C2", "name": "Zoë"})
    first = L.create(ctx, admin, "accounts", {"customer_code": "C1", "meter_number": number, "station_code": "ST1",
                                              "tariff_name": "Home"})
    assert first["account_number"] == f"{number}-1"
    with pytest.raises(ValidationError) as error:
        L.create(ctx, admin, "accounts", {"customer_code": "C2", "meter_number": number, "station_code": "ST1",
                                          "tariff_name": "Home"})
    assert error.value.field == "meter_number" and first["account_number"] in error.value.message
    L.update(ctx, admin, "accounts", first.id, L.form_text(L.library("accounts"), first) | {"status": "closed"})
    second = L.create(ctx, admin, "accounts", {"customer_code": "C2", "meter_number": number, "station_code": "ST1",
                                               "tariff_name": "Home"})
    assert second["account_number"] == f"{number}-2"
    view = account_view(ctx, admin, first.id)
    assert view.status == "closed" and view.closed_at is not None and view.meter["sgc"] == SGC
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 2


def test_account_tariff_utility_must_match_meter(ctx, admin):
    data = seed(ctx, admin, meters=1)
    L.create(ctx, admin, "tariffs", {"name": "Water", "utility": "water", "unit": "m3", "price_per_unit": "2",
                                     "currency_code": "USD"})
    with pytest.raises(ValidationError) as error:
        L.create(ctx, admin, "accounts", {"customer_code": "C1", "meter_number": data["meters"][0]["meter_number"],
                                          "station_code": "ST1", "tariff_name": "water"})
    assert error.value.field == "tariff_name" and "measures electricity" in error.value.message


def test_meter_with_account_cannot_be_removed(ctx, admin):
    data = seed(ctx, admin, meters=2)
    used, free = data["meters"]
    L.create(ctx, admin, "accounts", {"customer_code": "C1", "meter_number": used["meter_number"],
                                      "station_code": "ST1", "tariff_name": "Home"})
    with pytest.raises(Conflict, match="retire"):
        L.remove(ctx, admin, "meters", used.id)
    L.remove(ctx, admin, "meters", free.id)
    with pytest.raises(Conflict, match="District D1 cannot be removed: it still has sales stations"):
        L.remove(ctx, admin, "districts", data["district"].id)


@pytest.mark.parametrize("text", ["'; DROP TABLE meters; --", "%", "_", "Ngozi Ọkọnkwọ", "Zoë", "李"])
def test_search_strings_are_literal_and_harmless(ctx, admin, text):
    seed(ctx, admin, meters=2)
    for code, name in (("C2", "Zoë Ngozi"), ("C3", "李 Wei"), ("C4", "'; DROP TABLE meters; --"), ("C5", "100% pure"),
                       ("C6", "under_score")):
        L.create(ctx, admin, "customers", {"code": code, "name": name})
    page = L.search(ctx, admin, "customers", text)
    names = [row["name"] for row in page.rows]
    expected = {
        "'; DROP TABLE meters; --": ["'; DROP TABLE meters; --"], "%": ["100% pure"], "_": ["under_score"],
        "Ngozi Ọkọnkwọ": ["Ngozi Ọkọnkwọ"], "Zoë": ["Zoë Ngozi"], "李": ["李 Wei"],
    }[text]
    assert names == expected
    for name in ("meters", "districts", "stations", "tariffs", "accounts"):
        assert L.search(ctx, admin, name, text).rows == []
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Meter)) == 2


def test_search_pages_with_keyset_and_prefix(ctx, admin):
    seed(ctx, admin, meters=0)
    create_batch(ctx, admin, drn(100), drn(219), meter_values(drn(100)))
    seen = []
    page = L.search(ctx, admin, "meters", "", limit=50)
    while True:
        seen.extend(row["meter_number"] for row in page.rows)
        if not page.has_more:
            break
        page = L.search(ctx, admin, "meters", "", after=page.next_after, limit=50)
    assert seen == sorted(seen) and len(seen) == 120 and len(set(seen)) == 120
    prefix = L.search(ctx, admin, "meters", "000000011")
    assert [row["meter_number"][:9] for row in prefix.rows] == ["000000011"] * 10
    newest = L.search(ctx, admin, "meters", "", sort="newest", descending=True, limit=3)
    assert newest.rows[0]["meter_number"] == drn(219)
    by_phone = L.search(ctx, admin, "customers", "0802555")
    assert [row["code"] for row in by_phone.rows] == ["C1"]


def test_customer_email_is_validated_and_codes_are_case_insensitive(ctx, admin):
    seed(ctx, admin, meters=0)
    with pytest.raises(ValidationError) as error:
        L.create(ctx, admin, "customers", {"code": "C9", "name": "X", "email": "not-an-address"})
    assert error.value.field == "email"
    with pytest.raises(ValidationError) as error:
        L.create(ctx, admin, "customers", {"code": "c1", "name": "Duplicate"})
    assert error.value.field == "code" and "already exists" in error.value.message


def test_user_without_edit_permission_is_refused(ctx, admin):
    seed(ctx, admin, meters=1)

    with ctx.db.session() as session:
        from stron_tui.db.models import Role, RolePermission
        from stron_tui.domain.clock import utcnow

        role = Role(name="Viewer", name_key="viewer", created_at=utcnow())
        session.add(role)
        session.flush()
        session.add(RolePermission(role_id=role.id, permission="basedata.view"))
    users.create_user(ctx, admin, user_code="viewer", role="Viewer")
    with ctx.db.read_session() as session:
        from stron_tui.db.models import User

        viewer = actor_for(session, session.scalar(select(User).where(User.user_key == "viewer")), "tui")
    assert L.search(ctx, viewer, "meters").rows
    for name, values in (("meters", meter_values(drn(50))), ("customers", {"code": "C7", "name": "N"}),
                         ("districts", {"code": "D7", "name": "N"}), ("tariffs", {"name": "T", "price_per_unit": "1",
                                                                                  "currency_code": "USD"})):
        with pytest.raises(PermissionDenied, match="may not"):
            L.create(ctx, viewer, name, values)
    with pytest.raises(PermissionDenied):
        create_batch(ctx, viewer, drn(60), drn(61), meter_values(drn(60)))
    with pytest.raises(PermissionDenied):
        add_supply_group(ctx, viewer, sgc="123456", krn=1, dkga="02", generate=True)
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1


def test_supply_group_key_is_sealed_and_never_listed_or_audited(ctx, admin):
    key_hex = "0123456789ABCDEF"
    group = add_supply_group(ctx, admin, sgc="123456", krn=1, dkga="02", label="North", key_hex=key_hex)
    with pytest.raises(ValidationError) as error:
        add_supply_group(ctx, admin, sgc="123457", krn=1, dkga="04", key_hex=key_hex)
    assert error.value.field == "key" and "40" in error.value.message
    listed = list_supply_groups(ctx, admin)
    assert [(g.sgc, g.krn, g.dkga, g.label) for g in listed] == [("123456", 1, "02", "North")]
    assert "key" not in repr(listed).lower().replace("keys", "")
    with ctx.db.read_session() as session:
        row = session.get(VendingKey, group.id)
        assert ctx.vault.open("123456", 1, "02", row.nonce, row.ciphertext) == bytes.fromhex(key_hex)
        trail = " ".join(session.scalars(select(AuditEntry.detail)))
        assert key_hex.lower() not in trail.lower()
