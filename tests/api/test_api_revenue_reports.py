"""The revenue reports over HTTP: the same figures as the screen, from the registry's routes."""

from __future__ import annotations

import httpx

from stron_tui.services import debt, tariffs
from tests.factories import add_meter


def test_the_api_serves_revenue_by_part_debt_and_units_per_block(ctx, admin, world, api, admin_key, client):
    meter = add_meter(world, "4950000001")
    tariffs.add_version(ctx, admin, "Home", "2020-01-01", "5.00", [("50", "0.10"), ("", "0.20")])
    debt.change_debt(ctx, admin, world.accounts[meter], "added", "100.00", "Arrears", payment_password="AdminPass1")
    debt.set_revenue_terms(ctx, admin, world.accounts[meter], debt.RevenueTerms(recovery_percent="25"))
    client.vend(meter, amount="40", idempotency_key="revenue-report-0001")  # D 10, F 5, E 25: 50 + 100 kWh
    with httpx.Client(base_url=api.url + "/api/v1", headers={"Authorization": f"Bearer {admin_key}"}) as http:
        [part] = http.get("/reports/revenue-by-part").json()["items"]
        assert (part["gross"], part["debt_recovered"], part["fixed_charges"], part["energy"]) == (
            "40.00", "10.00", "5.00", "25.00")
        [owed] = http.get("/reports/debt").json()["items"]
        assert (owed["account_number"], owed["added"], owed["recovered"], owed["closing"]) == (
            world.accounts[meter], "100.00", "10.00", "90.00")
        blocks = http.get("/reports/units-per-block").json()["items"]
        assert [(row["block"], row["units"], row["amount"]) for row in blocks] == [(1, "50.0", "5.00"),
                                                                                  (2, "100.0", "20.00")]
