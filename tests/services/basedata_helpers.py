"""Small Base Data fixtures shared by the service, screen and import tests."""

from __future__ import annotations

import tokencore

from stron_tui.services import libraries as L
from stron_tui.services.supply_groups import add_supply_group

SGC = "600727"


def drn(serial: int, width: int = 10) -> str:
    partial = str(serial).zfill(width)
    return partial + tokencore.drn_check_digit(partial)


def seed(ctx, admin, meters: int = 2) -> dict:
    """A supply group, a district, a station, a tariff, a customer and some meters."""
    add_supply_group(ctx, admin, sgc=SGC, krn=1, dkga="02", label="Test group", generate=True)
    district = L.create(ctx, admin, "districts", {"code": "D1", "name": "Central", "kind": "residential"})
    station = L.create(ctx, admin, "stations", {"code": "ST1", "name": "Main office", "district_code": "D1"})
    tariff = L.create(ctx, admin, "tariffs", {"name": "Home", "utility": "electricity", "unit": "kWh",
                                              "price_per_unit": "0.25", "currency_code": "USD", "vat_rate": "7.5"})
    customer = L.create(ctx, admin, "customers", {"code": "C1", "name": "Ngozi Ọkọnkwọ", "phone": "+234 802 555 0101",
                                                  "email": "ngozi@example.com", "district_code": "D1"})
    made = [L.create(ctx, admin, "meters", meter_values(drn(n))) for n in range(1, meters + 1)]
    return {"district": district, "station": station, "tariff": tariff, "customer": customer, "meters": made}


def meter_values(number: str, **changes) -> dict:
    values = {"meter_number": number, "meter_type": "single-phase-integrated", "utility": "electricity",
              "status": "active", "sgc": SGC, "ti": "1", "krn": "1", "kt": "2", "ea": "07", "dkga": "02",
              "base_date": "1993", "ken": "255"}
    values.update(changes)
    return values
