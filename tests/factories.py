"""A small, real world for tests: a district, a station, tariffs, a supply group, meters, accounts.

Rows go into the real schema; vending keys are sealed with the context's
vault like the product does. `meter_simulator()` gives the keypad meter
that must accept the tokens the system issues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import tokencore
from tokencore.meter import Meter as MeterSimulator

from stron_tui.db.models import Account, Customer, District, Meter, SalesStation, Tariff, VendingKey
from stron_tui.domain.clock import utcnow
from stron_tui.services.reports.aggregates import start_meter_activity
from stron_tui.domain.text import fold

VENDING_KEY_02 = bytes.fromhex("0123456789abcdef")
VENDING_KEY_04 = bytes.fromhex("abababababababab949494949494949401234567")


@dataclass
class World:
    ctx: object
    district_id: int
    station_id: int
    station_code: str
    tariffs: dict[str, int]
    meters: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    key_data: dict[str, tokencore.KeyData] = field(default_factory=dict)

    def meter_simulator(self, meter_number: str) -> MeterSimulator:
        key_data = self.key_data[meter_number]
        vending_key = VENDING_KEY_02 if key_data.dkga == "02" else VENDING_KEY_04
        return MeterSimulator.from_vending_key(meter_number, key_data, vending_key)


def add_supply_group(ctx, session, sgc: str, krn: int, dkga: str) -> None:
    raw = VENDING_KEY_02 if dkga == "02" else VENDING_KEY_04
    nonce, sealed = ctx.vault.seal(sgc, krn, dkga, raw)
    session.add(VendingKey(sgc=sgc, krn=krn, dkga=dkga, label=f"test {sgc}", nonce=nonce, ciphertext=sealed,
                           created_at=utcnow()))


def drn(serial: str) -> str:
    return serial + tokencore.drn_check_digit(serial)


def build_world(ctx, *, currency: str = "USD") -> World:
    now = utcnow()
    with ctx.db.session() as session:
        district = District(code="D1", code_key="d1", name="Test District", name_key="test district",
                            kind="residential", created_at=now, updated_at=now)
        session.add(district)
        session.flush()
        station = SalesStation(code="S1", code_key="s1", name="Test Station", name_key="test station",
                               district_id=district.id, receipt_width=40, created_at=now, updated_at=now)
        session.add(station)
        tariffs = {
            # Inclusive: the customer pays 0.20 per kWh, taxes inside.
            "inclusive": Tariff(name="Home", name_key="home", utility="electricity", unit="kWh",
                                price_per_unit=Decimal("0.20"), currency_code=currency, vat_rate=Decimal("0.15"),
                                excise_rate=Decimal("0.02"), prices_include_vat=True,
                                min_purchase=Decimal("1"), max_purchase=Decimal("1000"), active=True,
                                created_at=now, updated_at=now),
            # Exclusive: 0.10 net per kWh; excise 5 % then VAT 10 % on top.
            "exclusive": Tariff(name="Business", name_key="business", utility="electricity", unit="kWh",
                                price_per_unit=Decimal("0.10"), currency_code=currency, vat_rate=Decimal("0.10"),
                                excise_rate=Decimal("0.05"), prices_include_vat=False,
                                min_purchase=Decimal("0"), max_purchase=None, active=True,
                                created_at=now, updated_at=now),
            "water": Tariff(name="Water", name_key="water", utility="water", unit="m3",
                            price_per_unit=Decimal("2.00"), currency_code=currency, vat_rate=Decimal("0"),
                            excise_rate=Decimal("0"), prices_include_vat=True, min_purchase=Decimal("0"),
                            active=True, created_at=now, updated_at=now),
        }
        session.add_all(tariffs.values())
        add_supply_group(ctx, session, "600100", 1, "02")
        add_supply_group(ctx, session, "600200", 1, "04")
        session.flush()
        world = World(ctx, district.id, station.id, station.code, {k: t.id for k, t in tariffs.items()})
    return world


def add_meter(world: World, serial: str, *, tariff: str = "inclusive", dkga: str = "02", ea: str = "07",
              base_date: int = 2014, with_account: bool = True, status: str = "active") -> str:
    number = drn(serial)
    key_data = tokencore.KeyData(sgc="600100" if dkga == "02" else "600200", ti=1, krn=1, kt=2, ken=255,
                                 base_date=base_date, ea=ea, dkga=dkga)
    now = utcnow()
    ctx = world.ctx
    with ctx.db.session() as session:
        tariff_row = session.get(Tariff, world.tariffs[tariff])
        meter = Meter(meter_number=number, meter_type="single-phase-integrated", utility=tariff_row.utility,
                      status=status, sgc=key_data.sgc, ti=key_data.ti, krn=key_data.krn, kt=key_data.kt,
                      ea=key_data.ea, dkga=key_data.dkga, base_date=key_data.base_date, ken=key_data.ken,
                      installed_sgc=key_data.sgc, installed_ti=key_data.ti, installed_krn=key_data.krn,
                      installed_kt=key_data.kt, installed_ea=key_data.ea, installed_dkga=key_data.dkga,
                      installed_base_date=key_data.base_date, installed_ken=key_data.ken,
                      created_at=now, updated_at=now)
        session.add(meter)
        session.flush()
        start_meter_activity(session, [meter.id])  # as the meter library does
        world.meters[number] = meter.id
        world.key_data[number] = key_data
        if with_account:
            customer = Customer(code=f"C{serial}", code_key=fold(f"C{serial}"), name=f"Customer {serial}",
                                name_key=fold(f"Customer {serial}"), address="1 Test Road", phone="+000 1",
                                phone_key="+0001", email="c@example.com", district_id=world.district_id,
                                created_at=now, updated_at=now)
            session.add(customer)
            session.flush()
            account = Account(account_number=f"A{serial}", customer_id=customer.id, meter_id=meter.id,
                              station_id=world.station_id, tariff_id=tariff_row.id, status="open", opened_at=now)
            session.add(account)
            world.accounts[number] = account.account_number
    return number
