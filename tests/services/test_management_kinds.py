"""The management token kinds table: the menu, the receipt, the records and the API read one row."""

from __future__ import annotations

import pytest

from screens.registry import ENTRIES_BY_KEY
from stron_tui.api.schemas import ManagementIn
from stron_tui.errors import ValidationError
from stron_tui.services import management, vending
from stron_tui.services.management import ManagementRequest
from stron_tui.services.management_kinds import KINDS, RECORD_KINDS
from tests.factories import add_meter, build_world


def test_every_kind_is_in_the_menu_and_the_api():
    for kind in KINDS.values():
        entry = ENTRIES_BY_KEY[kind.permission]
        assert (entry.title, entry.description, entry.permission) == (kind.title, kind.description, kind.permission)
        if kind.has_records:
            assert ENTRIES_BY_KEY[kind.record_key].title == kind.record_title
    assert ManagementIn.model_json_schema()["properties"]["kind"]["enum"] == list(KINDS)
    assert RECORD_KINDS == ("clear_tamper", "clear_credit")
    body = ManagementIn.model_validate({"kind": "set_power_limit", "watts": 5000, "register": 2})
    assert body.kind_fields() == {"watts": 5000}  # only the fields that kind takes reach the service


def test_the_receipt_takes_its_title_and_detail_from_the_kind(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4400000010")
    receipt = management.issue(ctx, admin, ManagementRequest(meter, "clear_credit", vending.new_request_id(),
                                                             "reset", register=1),
                               payment_password="AdminPass1")
    assert (receipt.title, receipt.detail) == ("CLEAR CREDIT", "Credit register 1")
    record = management.records(ctx, admin, "clear_credit").rows[0]
    assert record.detail == "register 1"
    with pytest.raises(ValidationError, match="Unknown management token 'boost'"):
        management.issue(ctx, admin, ManagementRequest(meter, "boost", vending.new_request_id(), "x"),
                         payment_password="AdminPass1")
