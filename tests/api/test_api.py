"""The integration API over real HTTP (uvicorn on a loopback port), called with the partners' client."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from stron_tui.api.client import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, StronClient, Unauthorized
from stron_tui.db.models import ApiAccount, AuditEntry, ManagementToken, Vend
from stron_tui.services import api_accounts, reports, vending
from stron_tui.services.reports import ReportFilters
from tests.factories import add_meter

PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["title"] and body["detail"] and body["type"].endswith(code)
    return body


def test_vend_over_http_is_accepted_by_the_meter_audited_and_in_the_receipt_report(ctx, admin, world, meter,
                                                                                   client):
    quote = client.preview(meter, amount="10.00")
    assert (quote.gross, quote.units, quote.currency) == ("10.00", "50.0", "USD")

    receipt = client.vend(meter, amount="10.00", idempotency_key="order-000001")
    assert len(receipt.token) == 20 and receipt.token.isdigit()
    assert receipt.token_grouped.replace(" ", "") == receipt.token and receipt.token_grouped.count(" ") == 4
    assert (receipt.gross, receipt.units, receipt.operator) == ("10.00", "50.0", "API Partner Admin")
    keypad = world.meter_simulator(meter)
    result = keypad.enter(receipt.token)
    assert result.accepted, result.message
    assert keypad.credit[0] == Decimal("50.0")

    # The TUI's Receipt Report lists the sale.
    page = reports.receipts(ctx, admin, ReportFilters(meter_number=meter))
    assert [row.receipt_number for row in page.rows] == [receipt.receipt_number]
    with ctx.db.read_session() as session:
        account_id = session.scalar(select(ApiAccount.id).where(ApiAccount.name == "Partner Admin"))
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "vend"))
        assert (entry.source, entry.api_account_id) == ("api", account_id)
        assert session.scalar(select(Vend.source)) == "api"


def test_sale_made_at_the_screen_is_found_through_the_api(ctx, admin, world, meter, client):
    from stron_tui.services import auth

    auth.change_own_password(ctx, admin, "AdminPass1", "PayPass-42", kind="payment")
    sold = vending.vend(ctx, admin, vending.VendRequest(meter, "amount", "20", request_id="screen-sale-1"),
                        payment_password="PayPass-42")
    by_receipt = client.receipt(sold.receipt_number)
    by_transaction = client.receipt(sold.transaction_number)
    assert by_receipt.token == by_transaction.token == sold.token
    assert by_receipt.gross == "20.00" and by_receipt.operator == admin.user_code
    vends = client.meter_vends(meter)
    assert [v.receipt_number for v in vends.items] == [sold.receipt_number]


def test_retry_with_the_same_idempotency_key_returns_the_same_receipt_and_sells_once(ctx, meter, client):
    first = client.vend(meter, amount="5", idempotency_key="retry-key-0001")
    again = client.vend(meter, amount="5", idempotency_key="retry-key-0001")
    assert again.receipt_number == first.receipt_number and again.token == first.token
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Vend)) == 1
    with pytest.raises(Conflict) as reused:
        client.vend(meter, amount="6", idempotency_key="retry-key-0001")
    assert reused.value.status == 409 and reused.value.code == "conflict"
    assert first.receipt_number in reused.value.detail


def test_401_without_a_valid_key(ctx, admin, api, meter, admin_key):
    with httpx.Client(base_url=api.url) as http:
        body = _problem(http.get("/api/v1/me"), 401, "unauthorized")
        assert "Bearer" in body["detail"]
        for key in ("nonsense", "stron_abcdefghijkl.wrong-secret", admin_key + "x"):
            response = http.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
            body = _problem(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert key not in response.text and admin_key not in response.text
    account = api_accounts.find_account(ctx, admin, "Partner Admin")
    rotated = api_accounts.rotate_key(ctx, admin, account.id).api_key
    with pytest.raises(Unauthorized):
        StronClient(api.url, admin_key).me()
    assert StronClient(api.url, rotated).me().name == "Partner Admin"
    api_accounts.set_enabled(ctx, admin, account.id, False)
    with pytest.raises(Unauthorized):
        StronClient(api.url, rotated).me()


def test_403_without_the_permission(ctx, api, meter, vendor_key, reader_key):
    with StronClient(api.url, reader_key) as reader:
        assert reader.meter(meter).meter_number == meter
        with pytest.raises(Forbidden) as refused:
            reader.vend(meter, amount="10", idempotency_key="reader-vend-01")
        assert refused.value.code == "forbidden" and "sell credit" in refused.value.detail
    with StronClient(api.url, vendor_key) as vendor:
        assert vendor.vend(meter, amount="1", idempotency_key="vendor-vend-01").token
        with pytest.raises(Forbidden):
            vendor.clear_tamper(meter, "opened")
        with pytest.raises(Forbidden):
            vendor.report("receipts")
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Vend)) == 1
        assert session.scalar(select(func.count()).select_from(ManagementToken)) == 0


def test_404_for_unknown_meter_receipt_record_and_route(api, client, admin_key, world):
    from tests.factories import drn

    with pytest.raises(NotFound) as missing:
        client.meter(drn("4799999999"))
    assert missing.value.code == "not_found"
    with pytest.raises(NotFound):
        client.receipt("S1-99999999")
    with pytest.raises(NotFound):
        client.customer_by_id(987654)
    with pytest.raises(NotFound):
        client.vend(drn("4799999999"), amount="10")
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {admin_key}"}) as http:
        _problem(http.get("/api/v1/no-such-thing"), 404, "not_found")


def test_422_for_bad_input_in_problem_form(api, client, admin_key, meter):
    with pytest.raises(InvalidInput) as bad_digit:
        client.preview(meter[:-1] + str((int(meter[-1]) + 1) % 10), amount="10")
    assert "meter" in bad_digit.value.errors
    with pytest.raises(InvalidInput) as bad_amount:
        client.preview(meter, amount="ten")
    assert bad_amount.value.errors
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=api.url, headers=headers) as http:
        # FastAPI's own validation errors, reshaped
        body = _problem(http.post("/api/v1/vends", json={"meter_number": meter, "mode": "litres", "value": "1"},
                                  headers={"Idempotency-Key": "abcdefgh1"}), 422, "invalid")
        assert "mode" in body["errors"]
        body = _problem(http.post("/api/v1/vends", json={"meter_number": meter, "value": "1"}), 422, "invalid")
        assert "Idempotency-Key" in body["errors"]
        _problem(http.post("/api/v1/vends", content=b"{not json", headers={"Idempotency-Key": "abcdefgh2",
                                                                           "Content-Type": "application/json"}),
                 422, "invalid")
        _problem(http.get("/api/v1/customers", params={"q": "a\x00b"}), 422, "invalid")
        _problem(http.get("/api/v1/customers", params={"cursor": "forged.cursor"}), 422, "invalid")
        _problem(http.get("/api/v1/reports/receipts", params={"date_from": "31/12/2024"}), 422, "invalid")


def test_429_when_the_account_exceeds_its_rate_limit(ctx, admin, api, world):
    key = api_accounts.create_account(ctx, admin, name="Slow Partner", role="OnlyVending",
                                      rate_limit_per_minute=3).api_key
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {key}"}) as http:
        assert [http.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
        response = http.get("/api/v1/me")
        body = _problem(response, 429, "rate_limited")
        assert int(response.headers["Retry-After"]) >= 1 and "3 requests a minute" in body["detail"]
    with pytest.raises(RateLimited) as limited:
        StronClient(api.url, key).me()
    assert limited.value.retry_after >= 1


def test_management_tokens_over_http_are_accepted_by_the_meter(ctx, world, meter, client):
    keypad = world.meter_simulator(meter)
    keypad.set_tamper(True)
    tamper = client.clear_tamper(meter, "seal replaced", idempotency_key="tamper-0001")
    assert keypad.enter(tamper.token).accepted and keypad.tamper is False
    credit = client.clear_credit(meter, "customer moved out", register=0)
    assert keypad.enter(credit.token).accepted
    assert credit.detail == "Credit register 0"
    limit = client.set_power_limit(meter, 5000, reason="load shedding")
    assert keypad.enter(limit.token).accepted and keypad.power_limit == 5000
    history = client.meter_tokens(meter)
    assert [t.kind for t in history.items] == ["set_power_limit", "clear_credit", "clear_tamper"]
    assert history.items[2].tokens == [tamper.token] and history.items[2].reason == "seal replaced"
    again = client.clear_tamper(meter, "seal replaced", idempotency_key="tamper-0001")
    assert again.receipt_number == tamper.receipt_number


def test_customers_meters_and_accounts_by_number_id_and_search(ctx, world, client):
    numbers = [add_meter(world, f"48000000{i:02d}") for i in range(5)]
    page = client.search_meters("4800", limit=2)
    seen = [m.meter_number for m in page.items]
    while page.next_cursor:
        page = client.search_meters("4800", limit=2, cursor=page.next_cursor)
        seen += [m.meter_number for m in page.items]
    assert seen == sorted(numbers)
    meter = client.meter(numbers[0])
    assert client.meter_by_id(meter.id) == meter and meter.sgc == "600100"
    customer = client.customer("C4800000000")
    assert customer.name == "Customer 4800000000" and client.customer_by_id(customer.id) == customer
    assert [c.code for c in client.search_customers("Customer 48000000", limit=10).items][:1] == ["C4800000000"]
    account = client.account("A4800000000")
    assert account.meter["meter_number"] == numbers[0] and account.customer["code"] == "C4800000000"
    assert client.account_by_id(account.id).account_number == "A4800000000"
    assert client.search_accounts(numbers[1]).items[0].account_number == "A4800000001"


def test_reports_as_paged_json_with_the_screens_filters(ctx, admin, world, client):
    meters = [add_meter(world, f"49000000{i:02d}") for i in range(3)]
    silent = add_meter(world, "4900000099")
    sold = [client.vend(m, amount="10", idempotency_key=f"report-sale-{i:03d}") for i, m in enumerate(meters)]
    first = client.report("receipts", limit=2)
    assert len(first.items) == 2 and first.next_cursor and first.totals[0]["vend_count"] == 3
    assert first.totals[0]["gross_amount"] == "30.00"
    rest = client.report("receipts", limit=2, cursor=first.next_cursor)
    assert rest.next_cursor is None and rest.totals is None
    numbers = {row["receipt_number"] for row in first.items + rest.items}
    assert numbers == {r.receipt_number for r in sold}
    assert len(first.items[0]["token"]) == 20
    assert client.report("receipts", meter_number=meters[1]).items[0]["receipt_number"] == sold[1].receipt_number
    with pytest.raises(InvalidInput) as bad:
        client.report("receipts", station="NOPE")
    assert "station" in bad.value.errors

    monthly = client.report("monthly-summary")
    assert monthly.items[0]["vend_count"] == 3 and monthly.items[0]["gross_amount"] == "30.00"
    payments = client.report("customer-payments")
    assert payments.items[0]["code"] == "S1" and payments.items[0]["vend_count"] == 3
    drill = client.report("customer-payments", station_id=world.station_id, limit=2)
    assert len(drill.items) == 2 and drill.next_cursor
    found = client.report("transactions", numbers=f"{sold[0].transaction_number}, V9999999999")
    assert found.items[0]["receipt_number"] == sold[0].receipt_number and found.extra["missing"] == ["V9999999999"]
    districts = client.report("districts")
    assert districts.items[0]["cash"] == "30.00"
    today = sold[0].issued_at.date().isoformat()
    quiet = client.report("non-vending-meters", date_from=today)
    assert [row["meter_number"] for row in quiet.items] == [silent] and quiet.extra["count"] == 1
    cashup = client.report("cashup", by_day=False)
    assert any(line["item"] == "Sales: Cash" and line["amount"] == "30.00" for line in cashup.items)
    all_rows = list(client.report_rows("receipts", limit=1))
    assert len(all_rows) == 3


def test_openapi_and_docs_are_served(api):
    with httpx.Client(base_url=api.url) as http:
        schema = http.get("/openapi.json").json()
        assert "/api/v1/vends" in schema["paths"] and "/api/v1/reports/receipts" in schema["paths"]
        assert http.get("/docs").status_code == 200


def test_each_api_process_works_on_as_many_requests_at_once_as_configured(ctx):
    # Requests beyond api_threads wait their turn instead of all sharing the interpreter at once.
    import anyio
    import anyio.to_thread

    from stron_tui.api.app import create_app
    from stron_tui.services.context import AppContext

    app = create_app(AppContext(settings=ctx.settings.with_overrides(api_threads=3), db=ctx.db))

    async def threads_while_serving() -> int:
        async with app.router.lifespan_context(app):
            return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert anyio.run(threads_while_serving) == 3
