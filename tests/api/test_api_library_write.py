"""Library maintenance over /api/v1: the screens' validation, audit and permissions; batches all or nothing."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from stron_tui.db.models import Account, AuditEntry, Customer, Meter
from stron_tui.services import api_accounts, roles
from tests.factories import drn


def count(ctx, model) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model))


def call(api, key: str, method: str, path: str, body=None) -> httpx.Response:
    return httpx.request(method, api.url + "/api/v1" + path, json=body, timeout=30,
                         headers={"Authorization": f"Bearer {key}"})


def test_create_and_change_a_customer_with_the_forms_validation_and_audit(ctx, world, api, admin_key):
    created = call(api, admin_key, "POST", "/customers", {"code": "C900", "name": "Zoë Kamau",
                                                          "phone": "0044 20 7946 0958", "email": "zoe@example.com",
                                                          "district_code": "D1"})
    assert created.status_code == 201, created.text
    assert (created.json()["phone"], created.json()["district_code"]) == ("+442079460958", "D1")
    changed = call(api, admin_key, "PATCH", "/customers/c900", {"address": "5 River Road"})
    assert changed.status_code == 200
    assert (changed.json()["address"], changed.json()["name"]) == ("5 River Road", "Zoë Kamau")
    with ctx.db.read_session() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "customer")
                                  .order_by(AuditEntry.id)).all()
        sources = set(session.scalars(select(AuditEntry.source).where(AuditEntry.entity == "customer")))
    assert actions == ["customers.create", "customers.update"] and sources == {"api"}


@pytest.mark.parametrize("body, field", [
    ({"code": "C901", "name": "A", "phone": "0803 555 0100"}, "phone"),
    ({"code": "C901", "name": "A", "email": "not-an-address"}, "email"),
    ({"code": "C901", "name": "A", "district_code": "NOWHERE"}, "district_code"),
    ({"code": "C901"}, "name"),
    ({"code": "C901", "name": "A", "colour": "red"}, "colour"),
])
def test_bad_customer_input_is_refused_by_field_and_nothing_saved(ctx, world, api, admin_key, body, field):
    before = count(ctx, Customer)
    response = call(api, admin_key, "POST", "/customers", body)
    assert response.status_code == 422
    assert field in response.json()["errors"], response.json()
    assert count(ctx, Customer) == before


def test_a_duplicate_key_is_refused(ctx, world, api, admin_key):
    call(api, admin_key, "POST", "/customers", {"code": "C902", "name": "First"})
    again = call(api, admin_key, "POST", "/customers", {"code": "c902", "name": "Second"})
    assert again.status_code == 422 and "already exists" in again.json()["detail"]


def test_a_batch_of_meters_customers_and_accounts_is_all_or_nothing(ctx, world, api, admin_key):
    numbers = [drn("480000000" + str(n)) for n in range(1, 4)]
    meters = [{"meter_number": number, "sgc": "600100", "krn": 1, "ti": 1} for number in numbers]
    bad = meters + [{"meter_number": "123", "sgc": "600100"}]
    refused = call(api, admin_key, "POST", "/meters/batch", {"rows": bad})
    assert refused.status_code == 422, refused.text
    assert any(key.startswith("rows[3].") for key in refused.json()["errors"])
    assert count(ctx, Meter) == 0
    done = call(api, admin_key, "POST", "/meters/batch", {"rows": meters})
    assert done.json() == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0}, done.text
    customers = [{"code": f"C91{n}", "name": f"Customer {n}"} for n in range(3)]
    assert call(api, admin_key, "POST", "/customers/batch", {"rows": customers}).json()["created"] == 3
    accounts = [{"customer_code": f"C91{n}", "meter_number": number, "station_code": "S1", "tariff_name": "Home"}
                for n, number in enumerate(numbers)]
    opened = call(api, admin_key, "POST", "/accounts/batch", {"rows": accounts})
    assert opened.json()["created"] == 3, opened.text
    assert count(ctx, Account) == 3
    # Running the same batch again changes nothing.
    assert call(api, admin_key, "POST", "/meters/batch", {"rows": meters}).json()["unchanged"] == 3


def test_writes_need_the_libraries_edit_right_and_batches_the_import_right(ctx, admin, world, api):
    roles.create_role(ctx, admin, name="Clerks", permissions={"basedata.view", "basedata.customers.edit"})
    key = api_accounts.create_account(ctx, admin, name="Clerk", role="Clerks").api_key
    assert call(api, key, "POST", "/customers", {"code": "C903", "name": "Ok"}).status_code == 201
    assert call(api, key, "POST", "/meters", {"meter_number": drn("4810000001"), "sgc": "600100"}).status_code == 403
    batch = call(api, key, "POST", "/customers/batch", {"rows": [{"code": "C904", "name": "No"}]})
    assert batch.status_code == 403
    assert count(ctx, Meter) == 0 and count(ctx, Customer) == 1


def test_tariffs_districts_and_stations_are_read(ctx, world, api, admin_key):
    tariffs = call(api, admin_key, "GET", "/tariffs").json()["items"]
    home = next(item for item in tariffs if item["name"] == "Home")
    assert (home["price_per_unit"], home["vat_rate"]) == ("0.2", "15")
    assert call(api, admin_key, "GET", "/districts/d1").json()["name"] == "Test District"
    assert call(api, admin_key, "GET", "/stations/S1").json()["district_code"] == "D1"
    assert call(api, admin_key, "GET", "/stations/NOPE").status_code == 404


def test_openapi_documents_the_write_routes(api):
    paths = httpx.get(api.url + "/openapi.json").json()["paths"]
    for path in ("/api/v1/customers", "/api/v1/customers/batch", "/api/v1/customers/{key}", "/api/v1/meters/batch",
                 "/api/v1/accounts/{key}", "/api/v1/tariffs", "/api/v1/districts/{key}", "/api/v1/stations"):
        assert path in paths, path
    assert "post" in paths["/api/v1/accounts"] and "patch" in paths["/api/v1/meters/{key}"]
