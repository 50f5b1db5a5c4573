"""Partner settlement: the day's file (API and CLI) holds every sale and reversal; its totals equal the
sales in the database; the checksum covers the data; the partner finds its transactions by its reference;
a partner's float refuses a sale past its limit over the API too."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from stron_tui.api.client import ApiError, StronClient
from stron_tui.cli import main
from stron_tui.db.models import Vend
from stron_tui.services import reversals, vendor_floats
from stron_tui.domain.clock import local_date, utcnow
from stron_tui.services.vending import new_request_id
from tests.cash_helpers import PAYMENT, supervisor

ACCOUNT = "Partner Shop"


def _get(api, key, path, **params):
    return httpx.get(f"{api.url}/api/v1{path}", params=params, headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def day_of_sales(ctx, admin, world, meter, api, vendor_key):
    with StronClient(api.url, vendor_key) as partner:
        sold = [partner.vend(meter, amount=amount, idempotency_key=f"ref-000{n}")
                for n, amount in enumerate(("10", "20.50", "5"), start=1)]
    boss = supervisor(ctx, admin, world)
    reversal = reversals.reverse(ctx, boss, sold[1].receipt_number, reason="customer cancelled",
                                 token_declared_unused=True, request_id=new_request_id(), payment_password=PAYMENT)
    return sold, reversal, local_date(utcnow(), ctx.settings.zone).isoformat()


def test_settlement_totals_equal_the_database_and_the_checksum_holds(ctx, api, vendor_key, day_of_sales):
    sold, reversal, today = day_of_sales
    body = _get(api, vendor_key, "/settlement", date=today).json()
    kinds = [(line["kind"], line["reference"]) for line in body["lines"]]
    assert kinds == [("sale", "ref-0001"), ("sale", "ref-0002"), ("sale", "ref-0003"), ("reversal", "ref-0002")]
    with ctx.db.read_session() as session:
        in_db = session.scalar(select(func.sum(Vend.paid_amount)).where(Vend.api_account_id.is_not(None)))
    (total,) = body["totals"]
    assert Decimal(total["sales_amount"]) == in_db == Decimal("35.50")
    assert (total["sales"], total["reversals"], Decimal(total["reversals_amount"]), Decimal(total["net"])) == (
        3, 1, Decimal("-20.50"), Decimal("15.00"))
    text = _get(api, vendor_key, "/settlement", date=today, format="csv").text
    data, last = text[:text.rstrip("\r\n").rfind("\n") + 1], text.rstrip("\r\n").rsplit("\n", 1)[1]
    assert last.startswith(f"checksum,sha256:{hashlib.sha256(data.encode()).hexdigest()}")
    assert body["checksum"] == hashlib.sha256(data.encode()).hexdigest()
    assert reversal.reversal_number in data
    with StronClient(api.url, vendor_key) as partner:  # the partner's look-up of the sale says it was reversed
        assert partner.receipt(sold[1].receipt_number).reversed_by == reversal.reversal_number
        assert partner.receipt(sold[0].receipt_number).reversed_by == ""


def test_transactions_by_the_partners_reference(api, vendor_key, day_of_sales):
    _, reversal, today = day_of_sales
    items = _get(api, vendor_key, "/transactions", date=today, reference="ref-0002").json()["items"]
    assert [(i["kind"], i["reversal_number"]) for i in items] == [("sale", ""), ("reversal", reversal.reversal_number)]
    assert _get(api, vendor_key, "/transactions", date=today, reference="nobody").json()["items"] == []
    bad = _get(api, vendor_key, "/transactions", date="31-12-2026")
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text


def test_the_cli_writes_the_same_file(ctx, monkeypatch, day_of_sales, api, vendor_key, capsys):
    _, _, today = day_of_sales
    settings = ctx.settings
    for name, value in {"STRON_DATABASE_URL": settings.database_url, "STRON_DATA_DIR": str(settings.data_dir),
                        "STRON_MASTER_KEY_FILE": str(settings.master_key_file),
                        "STRON_EXPORT_DIR": str(settings.export_dir), "STRON_TIMEZONE": settings.timezone}.items():
        monkeypatch.setenv(name, value)
    assert main(["settlement", "--account", ACCOUNT.lower(), "--date", today]) == 0
    out = capsys.readouterr().out
    assert "USD: 3 sales 35.50, 1 reversals -20.50, net 15.00" in out
    csv_path = next(line.split()[-1] for line in out.splitlines() if line.strip().endswith(".csv"))
    with open(csv_path, encoding="utf-8", newline="") as handle:
        assert handle.read() == _get(api, vendor_key, "/settlement", date=today, format="csv").text
    xlsx_path = next(line.split()[-1] for line in out.splitlines() if line.strip().endswith(".xlsx"))
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(xlsx_path).get_sheet_by_index(0).to_python()
    kinds = [row[0] for row in rows]
    start = kinds.index("Kind") + 1
    assert kinds[start:start + 5] == ["sale", "sale", "sale", "reversal", "total"]
    assert main(["settlement", "--account", "Nobody", "--date", today]) == 1
    assert "There is no API account Nobody" in capsys.readouterr().err


def test_a_partner_float_refuses_past_its_limit(ctx, admin, meter, api, vendor_key):
    vendor_floats.set_up_float(ctx, admin, api_account=ACCOUNT, currency="USD")
    vendor_floats.record_movement(ctx, admin, api_account=ACCOUNT, kind="deposit", amount="15", reason="prepaid")
    with StronClient(api.url, vendor_key) as partner:
        partner.vend(meter, amount="10")
        with pytest.raises(ApiError) as refused:
            partner.vend(meter, amount="10")
    assert "balance is 5.00 USD" in refused.value.detail
    own = _get(api, vendor_key, "/float")
    assert own.status_code == 200, own.text
    assert own.json()["balance"] == "5.00"
