"""The Stron-compatible surface over real HTTP: the bodies public clients send, read the way they read them.

Each client shape is cited in docs/stron-api.md. Bodies are sent as those clients serialise them (JSON.stringify
and PHP json_encode: compact; Python requests: json= with ", " and ": " separators).
"""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from stron_tui.db.models import AuditEntry, ManagementToken, Vend
from stron_tui.services import api_accounts, reports, roles
from stron_tui.services.reports import ReportFilters
from tests.factories import add_meter

METER_SERIAL = "4700000001"


def count(ctx, model) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def creds(ctx, vendor_key):
    """Stron's three body credentials for the OnlyVending API account 'Partner Shop'."""
    return {"CompanyName": ctx.settings.utility_name, "UserName": "Partner Shop", "PassWord": vendor_key}


def js_post(api, path: str, body: dict, **headers) -> httpx.Response:
    """As JavaScript's JSON.stringify / PHP's json_encode send it: compact, keys in the client's order."""
    data = json.dumps(body, separators=(",", ":")).encode()
    return httpx.post(api.url + path, content=data, timeout=30,
                      headers={"Content-Type": "application/json", **headers})


def py_post(api, path: str, body: dict) -> httpx.Response:
    """As Python requests' json= sends it."""
    return httpx.post(api.url + path, content=json.dumps(body).encode(), timeout=30,
                      headers={"Content-Type": "application/json"})


def first_token(answer) -> str | None:
    """How the Node/Django clients read a vend: a non-empty list whose first item has Token."""
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        return answer[0].get("Token") or None
    return None


def test_vending_meter_as_the_node_client_sends_it_sells_once_and_the_meter_accepts(ctx, admin, world, meter,
                                                                                  api, creds):
    # Node/axios client: MeterId, is_vend_by_unit "false", Amount as the payment's value.
    response = js_post(api, "/api/VendingMeter", {**creds, "MeterId": meter, "is_vend_by_unit": "false",
                                                   "Amount": 10})
    assert response.status_code == 200
    answer = response.json()
    token = first_token(answer)
    item = answer[0]
    assert len(token) == 20 and token.isdigit()
    assert (item["Total_unit"], item["Total_paid"], item["Meter_id"]) == ("50.0", "10.00", meter)
    assert item["Customer_id"] == f"C{METER_SERIAL}" and item["Price"] == "0.20" and item["VAT"]
    keypad = world.meter_simulator(meter)
    assert keypad.enter(token).accepted
    assert keypad.credit[0] == Decimal("50.0")
    # The same sale as /api/v1 and the screens: the receipt report and the audit see it, by the API account.
    page = reports.receipts(ctx, admin, ReportFilters(meter_number=meter))
    assert [row.receipt_number for row in page.rows] == [item["ReceiptNumber"]]
    with ctx.db.read_session() as session:
        assert session.scalar(select(Vend.source)) == "api"
        assert session.scalar(select(AuditEntry.api_account_id).where(AuditEntry.action == "vend")) is not None


def test_vend_by_unit_with_string_amount_as_the_django_client_sends_it(ctx, world, meter, api, creds):
    response = py_post(api, "/api/VendingMeter", {**creds, "MeterID": meter, "is_vend_by_unit": "true",
                                                   "Amount": "25"})
    item = response.json()[0]
    assert (item["Total_unit"], item["Total_paid"], item["Vend_by_unit"]) == ("25.0", "5.00", True)
    assert world.meter_simulator(meter).enter(item["Token"]).accepted


@pytest.mark.parametrize("path", ["/api/vendingmeter", "/API/VENDINGMETER/", "/api/VendingMeterPurchase",
                                  "/api/VendingMeterDirectly/", "/Api/vendingMeterDirectly"])
def test_paths_match_in_any_case_with_or_without_trailing_slash(ctx, meter, api, creds, path):
    response = js_post(api, path, {**creds, "MeterId": meter, "Amount": "2"})
    assert response.status_code == 200, response.text
    assert first_token(response.json())
    assert count(ctx, Vend) == 1


def test_preview_prices_without_selling(ctx, meter, api, creds):
    response = js_post(api, "/api/VendingMeterPreview", {**creds, "MeterID": meter, "Amount": 10,
                                                          "is_vend_by_unit": "false"})
    item = response.json()[0]
    assert (item["Total_unit"], item["Total_paid"], item["Price"]) == ("50.0", "10.00", "0.20")
    assert "Token" not in item
    assert count(ctx, Vend) == 0


@pytest.mark.parametrize("amount", ["1,000", "", "-5", "1e9", " ", "abc", None, True, [], "NaN", 0, "0.00"])
def test_malformed_amounts_are_refused_in_the_stron_shape_and_nothing_is_sold(ctx, meter, api, creds, amount):
    body = {**creds, "MeterID": meter, "is_vend_by_unit": "false"}
    if amount is not None:
        body["Amount"] = amount
    response = js_post(api, "/api/VendingMeter", body)
    assert response.status_code == 422
    answer = response.json()
    assert first_token(answer) is None  # every client's test for success fails
    assert answer["ResultCode"] == 2 and "Amount" in answer["Reason"]
    assert count(ctx, Vend) == 0


def test_a_json_exponent_number_is_refused_too(ctx, meter, api, creds):
    data = ('{"CompanyName":%s,"UserName":"Partner Shop","PassWord":%s,"MeterID":"%s","Amount":1e9}'
            % (json.dumps(creds["CompanyName"]), json.dumps(creds["PassWord"]), meter)).encode()
    response = httpx.post(api.url + "/api/VendingMeter", content=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["ResultCode"] == 2
    assert count(ctx, Vend) == 0


def test_unknown_meter_and_bad_meter_number(ctx, meter, api, creds):
    unknown = js_post(api, "/api/VendingMeter", {**creds, "MeterID": "01234567897", "Amount": 5})
    assert unknown.status_code == 404 and unknown.json()["ResultCode"] == 3
    assert "01234567897" in unknown.json()["Reason"]
    letters = js_post(api, "/api/QueryMeterInfo", {**creds, "MeterId": "58-000"})
    assert letters.status_code == 422 and letters.json()["ResultCode"] == 2
    assert count(ctx, Vend) == 0


def test_wrong_credentials_in_every_shape_get_one_answer_and_sell_nothing(ctx, meter, api, creds, admin_key):
    wrong = [
        {**creds, "PassWord": "not-a-key"},
        {**creds, "UserName": "Somebody Else"},
        {**creds, "CompanyName": "Another Utility Ltd"},
        {**creds, "PassWord": admin_key},  # a real key, but not Partner Shop's
        {"MeterID": meter},  # nothing at all
    ]
    answers = []
    for body in wrong:
        response = js_post(api, "/api/VendingMeter", {**body, "MeterID": meter, "Amount": 5})
        answers.append((response.status_code, response.json()["ResultCode"], response.json()["Reason"]))
    # The right body with a wrong header, and a right header with the wrong body account.
    response = js_post(api, "/api/VendingMeter", {**creds, "MeterID": meter, "Amount": 5},
                       Authorization="Bearer sk_wrong_header")
    answers.append((response.status_code, response.json()["ResultCode"], response.json()["Reason"]))
    response = js_post(api, "/api/VendingMeter", {**creds, "MeterID": meter, "Amount": 5},
                       Authorization=f"Bearer {admin_key}")
    answers.append((response.status_code, response.json()["ResultCode"], response.json()["Reason"]))
    assert set(answers) == {(401, 1, "The company name, user name or password is wrong.")}
    assert count(ctx, Vend) == 0


def test_the_header_alone_or_matching_the_body_is_accepted(ctx, meter, api, creds, vendor_key):
    alone = js_post(api, "/api/VendingMeter", {"MeterID": meter, "Amount": 1},
                    Authorization=f"Bearer {vendor_key}")
    both = js_post(api, "/api/VendingMeter", {**creds, "MeterID": meter, "Amount": 1},
                   Authorization=f"Bearer {vendor_key}")
    assert first_token(alone.json()) and first_token(both.json())
    assert count(ctx, Vend) == 2


def test_the_roles_permissions_hold_on_this_surface(ctx, admin, world, meter, api):
    roles.create_role(ctx, admin, name="Lookers", permissions={"basedata.view"})
    key = api_accounts.create_account(ctx, admin, name="Looker", role="Lookers",
                                      station_code=world.station_code).api_key
    body = {"CompanyName": ctx.settings.utility_name, "UserName": "Looker", "PassWord": key}
    sale = js_post(api, "/api/VendingMeter", {**body, "MeterID": meter, "Amount": 5})
    assert sale.status_code == 403 and sale.json()["ResultCode"] == 4
    tamper = js_post(api, "/api/ClearTamper", {**body, "METER_ID": meter})
    assert tamper.status_code == 403
    assert count(ctx, Vend) == 0 and count(ctx, ManagementToken) == 0


def test_client_reference_makes_a_retry_return_the_first_sale(ctx, meter, api, creds):
    body = {**creds, "MeterID": meter, "Amount": "5", "ClientReference": "mpesa-QWE123RTY"}
    first = js_post(api, "/api/VendingMeter", body).json()[0]
    again = js_post(api, "/api/VendingMeter", body).json()[0]
    assert (again["Token"], again["ReceiptNumber"]) == (first["Token"], first["ReceiptNumber"])
    changed = js_post(api, "/api/VendingMeter", {**body, "Amount": "6"})
    assert changed.status_code == 409 and changed.json()["ResultCode"] == 5
    assert count(ctx, Vend) == 1
    # Without a reference each call is a sale, as on Stron's API.
    js_post(api, "/api/VendingMeter", {**creds, "MeterID": meter, "Amount": "5"})
    assert count(ctx, Vend) == 2


def test_a_customer_id_that_is_not_the_meters_customer_sells_nothing(ctx, meter, api, creds):
    response = js_post(api, "/api/VendingMeter", {**creds, "MeterID": meter, "Amount": 5, "CustomerId": "C999"})
    assert response.status_code == 422 and "does not belong" in response.json()["Reason"]
    ok = js_post(api, "/api/VendingMeter", {**creds, "MeterID": meter, "Amount": 5,
                                             "CustomerId": f"C{METER_SERIAL}"})
    assert first_token(ok.json())
    assert count(ctx, Vend) == 1


def test_query_meter_info_and_credit(ctx, meter, api, creds):
    info = js_post(api, "/api/QueryMeterInfo", {**creds, "MeterId": meter}).json()
    assert info[0]["Meter_id"] == meter and info[0]["Customer_id"] == f"C{METER_SERIAL}"
    assert info[0]["Customer_name"] == f"Customer {METER_SERIAL}" and info[0]["Price"] == "0.20"
    assert js_post(api, "/api/QueryMeterCredit", {**creds, "MeterId": meter}).json() == []
    sold = js_post(api, "/api/VendingMeter", {**creds, "MeterId": meter, "Amount": 4}).json()[0]
    credit = js_post(api, "/api/QueryMeterCredit", {**creds, "MeterId": meter}).json()
    assert [(row["Token"], row["Total_paid"], row["ReceiptNumber"]) for row in credit] == [
        (sold["Token"], "4.00", sold["ReceiptNumber"])]


def test_query_customer_info_and_credit(ctx, world, meter, api, creds):
    second = add_meter(world, "4700000002")
    js_post(api, "/api/VendingMeter", {**creds, "MeterId": meter, "Amount": 3})
    info = js_post(api, "/api/QueryCustomerInfo", {**creds, "CustomerId": f"c{METER_SERIAL}"}).json()
    assert [row["Meter_id"] for row in info] == [meter]
    credit = js_post(api, "/api/QueryCustomerCredit", {**creds, "CustomerId": f"C{METER_SERIAL}"}).json()
    assert [row["Total_paid"] for row in credit] == ["3.00"]
    missing = js_post(api, "/api/QueryCustomerInfo", {**creds, "CustomerId": "NOBODY"})
    assert missing.status_code == 404 and missing.json()["ResultCode"] == 3
    assert second  # another customer's meter is not in this customer's answer


def test_clear_tamper_and_clear_credit_issue_management_tokens(ctx, admin, world, meter, api, admin_key):
    body = {"CompanyName": ctx.settings.utility_name, "UserName": "Partner Admin", "PassWord": admin_key,
            "CustomerId": f"C{METER_SERIAL}", "METER_ID": meter}
    tamper = py_post(api, "/api/ClearTamper", body).json()
    credit = py_post(api, "/api/ClearCredit", body).json()
    keypad = world.meter_simulator(meter)
    assert keypad.enter(tamper[0]["Token"]).accepted and keypad.enter(credit[0]["Token"]).accepted
    with ctx.db.read_session() as session:
        kinds = session.execute(select(ManagementToken.kind, ManagementToken.reason)).all()
    assert sorted(kind for kind, _ in kinds) == ["clear_credit", "clear_tamper"]
    assert all(reason == "requested over the Stron-compatible API" for _, reason in kinds)


def test_micropowermanager_login_then_vending_as_its_plugin_sends_them(ctx, world, meter, api, vendor_key):
    # StronCredentialService: POST {api_url}/login/ with Username, Password, Companyname; json_decode(body).
    login = js_post(api, "/api/login/", {"Username": "Partner Shop", "Password": vendor_key,
                                         "Companyname": ctx.settings.utility_name})
    assert login.status_code == 200
    api_token = json.loads(login.text)
    assert isinstance(api_token, str) and api_token
    # StronMeterApi::chargeDevice: POST {api_url}/vending/, explode(',', body)[0] is the token.
    response = js_post(api, "/api/vending/", {
        "CustomerId": f"C{METER_SERIAL}", "MeterId": meter, "Price": "0.2", "Rate": "1", "Amount": 10,
        "AmountTmp": "USD", "Company": ctx.settings.utility_name, "Employee": "Partner Shop",
        "ApiToken": api_token})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    token = response.text.split(",")[0]
    assert world.meter_simulator(meter).enter(token).accepted
    assert count(ctx, Vend) == 1


def test_micropowermanager_failures_are_http_errors_its_client_raises_on(ctx, meter, api, vendor_key):
    login = js_post(api, "/api/login/", {"Username": "Partner Shop", "Password": "wrong",
                                         "Companyname": ctx.settings.utility_name})
    assert login.status_code == 401 and "Message" in login.json()
    base = {"CustomerId": f"C{METER_SERIAL}", "MeterId": meter, "Price": "0.2", "Rate": "1", "Amount": 10,
            "AmountTmp": "USD", "Company": ctx.settings.utility_name, "Employee": "Partner Shop",
            "ApiToken": vendor_key}
    for change, status in (({"ApiToken": "nope"}, 401), ({"Amount": "-5"}, 422), ({"AmountTmp": "$"}, 422),
                           ({"MeterId": "01234567897"}, 404), ({"AmountTmp": "XYZ"}, 422)):
        response = js_post(api, "/api/vending/", {**base, **change})
        assert response.status_code == status, (change, response.text)
        assert response.headers["content-type"].startswith("text/plain") and response.text
    assert count(ctx, Vend) == 0


def test_bodies_that_are_not_objects_or_hold_control_characters(ctx, meter, api, creds):
    for data in (b"", b"[]", b"not json", b'"text"'):
        response = httpx.post(api.url + "/api/VendingMeter", content=data,
                              headers={"Content-Type": "application/json"})
        assert response.status_code == 422 and response.json()["ResultCode"] == 2
    response = js_post(api, "/api/VendingMeter", {**creds, "MeterID": meter, "Amount": 5, "Reason": "a\x1b[2Jb"})
    assert response.status_code == 422 and "control" in response.json()["Reason"]
    twice = js_post(api, "/api/VendingMeter", {**creds, "MeterID": meter, "MeterId": "01234567897", "Amount": 5})
    assert twice.status_code == 422 and "twice" in twice.json()["Reason"]
    unknown = js_post(api, "/api/NoSuchThing", creds)
    assert unknown.status_code == 404 and unknown.json()["ResultCode"] == 8
    assert count(ctx, Vend) == 0


def test_rate_limit_applies_in_the_stron_shape(ctx, admin, world, meter, api):
    key = api_accounts.create_account(ctx, admin, name="Slow Shop", role="OnlyVending",
                                      station_code=world.station_code, rate_limit_per_minute=2).api_key
    body = {"CompanyName": ctx.settings.utility_name, "UserName": "Slow Shop", "PassWord": key, "MeterId": meter}
    statuses = [js_post(api, "/api/QueryMeterInfo", body).status_code for _ in range(3)]
    assert statuses[:2] == [200, 200] and statuses[2] == 429
    limited = js_post(api, "/api/QueryMeterInfo", body)
    assert limited.json()["ResultCode"] == 6 and int(limited.headers["Retry-After"]) >= 1


def test_a_clear_tamper_account_without_selling_rights_may_name_the_customer(ctx, admin, world, meter, api):
    roles.create_role(ctx, admin, name="Technicians", permissions={"exceptions.clear_tamper"})
    key = api_accounts.create_account(ctx, admin, name="Tech", role="Technicians",
                                      station_code=world.station_code).api_key
    body = {"CompanyName": ctx.settings.utility_name, "UserName": "Tech", "PassWord": key, "METER_ID": meter}
    ok = js_post(api, "/api/ClearTamper", {**body, "CustomerId": f"C{METER_SERIAL}"})
    assert ok.status_code == 200, ok.text
    assert world.meter_simulator(meter).enter(ok.json()[0]["Token"]).accepted
    wrong = js_post(api, "/api/ClearTamper", {**body, "CustomerId": "C1"})
    assert wrong.status_code == 422 and count(ctx, ManagementToken) == 1
    sale = js_post(api, "/api/VendingMeter", {**body, "MeterID": meter, "Amount": 5})
    assert sale.status_code == 403 and count(ctx, Vend) == 0
