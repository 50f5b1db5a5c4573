"""Demo data for trying the app: a small utility with a few months of real sales.

Every past sale carries a real token for its meter (a demo supply group with
its own random vending key), with increasing TIDs, so the meter simulator
accepts them and the reports have something to show.
"""

from __future__ import annotations

import random
import secrets
from datetime import timedelta
from decimal import Decimal

import tokencore
from sqlalchemy import select

from stron_tui.db.models import (
    Account,
    AppMeta,
    Customer,
    District,
    ExchangeRate,
    Meter,
    PaymentType,
    Role,
    SalesStation,
    Tariff,
    User,
    Vend,
    VendingKey,
)
from stron_tui.services.bootstrap import VENDING_ROLE
from stron_tui.domain.clock import local_date, utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.customers import phone_key
from stron_tui.services.passwords import DEFAULT_PASSWORD, hash_password
from stron_tui.services.pricing import Payment, TariffTerms, quote_by_amount
from stron_tui.services.reports.aggregates import start_meter_activity
from stron_tui.domain.text import fold
from stron_tui.services.tokens import CREDIT_SUBCLASS

DISTRICTS = [
    ("NORTH", "North Residential Zone", "residential"),
    ("IND", "Eastern Industrial Area", "industrial"),
    ("CBD", "Central Business District", "commercial"),
    ("RURAL", "Riverside Rural", "rural"),
]
STATIONS = [
    ("ST01", "Head Office Cash Hall", "NORTH", 80),
    ("ST02", "Market Street Kiosk", "CBD", 40),
    ("ST03", "Industrial Park Office", "IND", 80),
    ("ST04", "Riverside Agent", "RURAL", 40),
]
TARIFFS = [
    # name, utility, unit, price, VAT, excise, includes VAT, min, max
    ("Residential Electricity", "electricity", "kWh", "0.145", "0.15", "0.02", True, "1", "500"),
    ("Commercial Electricity", "electricity", "kWh", "0.21", "0.15", "0.03", False, "5", "5000"),
    ("Domestic Water", "water", "m3", "1.80", "0.00", "0.00", True, "1", "300"),
    ("Household Gas", "gas", "m3", "0.95", "0.15", "0.00", True, "2", "400"),
]
FIRST_NAMES = ["Amina", "Kwame", "Ngozi", "Thabo", "Wanjiru", "Chen", "Fatou", "Tendai", "Aisha", "Kofi",
               "Zoë", "Lindiwe", "Ibrahim", "Mei", "Sipho", "Adaeze", "Juma", "Ama", "Bongani", "Nia"]
LAST_NAMES = ["Okafor", "Mensah", "Ọkọnkwọ", "Ndlovu", "Kamau", "Li", "Diallo", "Moyo", "Bello", "Asante",
              "Dlamini", "Otieno", "Banda", "Mutua", "Zulu", "Abubakar", "Wang", "Nkosi", "Owusu", "Kariuki"]
STREETS = ["Market Street", "Baobab Avenue", "Station Road", "River Lane", "Harbour Close", "Unity Drive"]


def load_demo_data(ctx: AppContext, *, customers: int = 300, months: int = 4, seed: int = 7) -> str:
    with ctx.db.read_session() as session:
        if session.get(AppMeta, "demo_loaded") is not None:
            return "Demo data is already loaded; nothing changed."
    rng = random.Random(seed)
    now = utcnow()
    zone = ctx.settings.zone
    with ctx.db.session() as session:
        session.add(AppMeta(name="demo_loaded", value=now.isoformat()))
        districts = {}
        for code, name, kind in DISTRICTS:
            district = District(code=code, code_key=fold(code), name=name, name_key=fold(name), kind=kind,
                                description="Demo district", created_at=now, updated_at=now)
            session.add(district)
            districts[code] = district
        session.flush()
        stations = []
        for code, name, district_code, width in STATIONS:
            station = SalesStation(code=code, code_key=fold(code), name=name, name_key=fold(name),
                                   district_id=districts[district_code].id, address=f"{name}, demo town",
                                   phone=f"+25420555{len(stations) + 1:04d}", receipt_width=width, active=True,
                                   created_at=now, updated_at=now)
            session.add(station)
            stations.append(station)
        session.flush()
        tariffs = []
        for name, utility, unit, price, vat, excise, inclusive, low, high in TARIFFS:
            tariff = Tariff(name=name, name_key=fold(name), utility=utility, unit=unit,
                            price_per_unit=Decimal(price), currency_code=ctx.settings.currency,
                            vat_rate=Decimal(vat), excise_rate=Decimal(excise), prices_include_vat=inclusive,
                            min_purchase=Decimal(low), max_purchase=Decimal(high), active=True,
                            created_at=now, updated_at=now)
            session.add(tariff)
            tariffs.append(tariff)
        if ctx.settings.currency != "EUR":
            session.add(ExchangeRate(from_currency="EUR", to_currency=ctx.settings.currency,
                                     rate=Decimal("1.08"), effective_at=now - timedelta(days=365 * months)))
        # Demo supply groups with their own random vending keys (sealed at once, never shown).
        groups = [tokencore.KeyData(sgc="600123", ti=1, krn=1, kt=2, ken=255, base_date=2014, ea="07", dkga="02"),
                  tokencore.KeyData(sgc="600124", ti=1, krn=1, kt=2, ken=255, base_date=2014, ea="07", dkga="04")]
        vending_keys = {}
        for key_data in groups:
            raw = secrets.token_bytes(key_data.vending_key_bytes)
            nonce, sealed = ctx.vault.seal(key_data.sgc, key_data.krn, key_data.dkga, raw)
            session.add(VendingKey(sgc=key_data.sgc, krn=key_data.krn, dkga=key_data.dkga,
                                   label=f"Demo supply group DKGA{key_data.dkga}", nonce=nonce, ciphertext=sealed,
                                   active=True, created_at=now))
            vending_keys[key_data.sgc] = raw
        session.flush()

        payment_codes = list(session.scalars(select(PaymentType.code).order_by(PaymentType.sort_order)))
        weights = [60, 8, 20, 10, 2][: len(payment_codes)]
        first_serial = 4100000000
        vends = 0
        cashier_role = session.scalar(select(Role).where(Role.name_key == fold(VENDING_ROLE)))
        cashier = User(user_code="cashier1", user_key="cashier1", name="Demo Cashier", phone="+254205550101",
                       role_id=cashier_role.id, station_id=stations[1].id,
                       password_hash=hash_password(DEFAULT_PASSWORD),
                       payment_password_hash=hash_password(DEFAULT_PASSWORD), must_change_password=True,
                       must_change_payment_password=True, created_at=now)
        session.add(cashier)
        session.flush()
        for index in range(customers):
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            district_code = DISTRICTS[index % len(DISTRICTS)][0]
            station = stations[index % len(stations)]
            customer = Customer(code=f"C{index + 1:06d}", code_key=fold(f"C{index + 1:06d}"), name=name,
                                name_key=fold(name), address=f"{rng.randint(1, 250)} {rng.choice(STREETS)}",
                                phone=f"+2547{rng.randint(10000000, 99999999)}",  # E.164, as the library keeps it
                                phone_key="", email=f"customer{index + 1}@example.com",
                                district_id=districts[district_code].id, created_at=now, updated_at=now)
            customer.phone_key = phone_key(customer.phone)
            session.add(customer)
            tariff = tariffs[0] if index % 10 < 6 else tariffs[1] if index % 10 < 7 else \
                tariffs[2] if index % 10 < 9 else tariffs[3]
            key_data = groups[0] if index % 5 else groups[1]
            serial = str(first_serial + index)
            drn = serial + tokencore.drn_check_digit(serial)
            meter_type = demo_meter_type(tariff, index)
            meter = Meter(meter_number=drn, meter_type=meter_type, utility=tariff.utility, status="active",
                          sgc=key_data.sgc, ti=key_data.ti, krn=key_data.krn, kt=key_data.kt, ea=key_data.ea,
                          dkga=key_data.dkga, base_date=key_data.base_date, ken=key_data.ken,
                          installed_sgc=key_data.sgc, installed_ti=key_data.ti, installed_krn=key_data.krn,
                          installed_kt=key_data.kt, installed_ea=key_data.ea, installed_dkga=key_data.dkga,
                          installed_base_date=key_data.base_date, installed_ken=key_data.ken,
                          created_at=now, updated_at=now)
            session.add(meter)
            session.flush()
            start_meter_activity(session, [meter.id])
            account = Account(account_number=f"A{index + 1:07d}", customer_id=customer.id, meter_id=meter.id,
                              station_id=station.id, tariff_id=tariff.id, status="open",
                              opened_at=now - timedelta(days=31 * months + 10))
            session.add(account)
            session.flush()
            # A few silent meters for the Non-Vending Meter Report.
            if index % 17 == 16:
                continue
            decoder_key = tokencore.generate_decoder_key(vending_keys[key_data.sgc], key_data, drn)
            cipher = tokencore.TokenCipher(decoder_key, key_data.ea)
            terms = TariffTerms(tariff.name, tariff.unit, tariff.price_per_unit, tariff.currency_code, 2,
                                tariff.vat_rate, tariff.excise_rate, tariff.prices_include_vat,
                                tariff.min_purchase, tariff.max_purchase)
            payment = Payment(tariff.currency_code, 2, Decimal(1))
            moments = sorted(now - timedelta(minutes=rng.randint(60, months * 30 * 24 * 60))
                             for _ in range(rng.randint(2, 3 * months)))
            last_tid = None
            for moment in moments:
                amount = Decimal(rng.choice([5, 10, 10, 20, 25, 50, 100]))
                quote = quote_by_amount(max(amount, terms.min_purchase), payment, terms)
                tid = tokencore.next_tid(moment, last_tid, key_data)
                last_tid = tid
                token = tokencore.credit_token(cipher, key_data, CREDIT_SUBCLASS[tariff.utility], quote.units, tid)
                vends += 1
                sale = Vend(
                    transaction_number=f"V{vends:010d}", receipt_number=f"{station.code}-D{vends:07d}",
                    request_id=f"demo-{vends:08d}", created_at=moment, business_date=local_date(moment, zone),
                    source="tui", operator_id=cashier.id, station_id=station.id, district_id=station.district_id,
                    account_id=account.id, customer_id=customer.id, meter_id=meter.id, meter_number=drn,
                    tariff_id=tariff.id, tariff_name=tariff.name, utility=tariff.utility, unit=tariff.unit,
                    price_per_unit=tariff.price_per_unit, vat_rate=tariff.vat_rate, excise_rate=tariff.excise_rate,
                    prices_include_vat=tariff.prices_include_vat, mode="amount",
                    payment_type=rng.choices(payment_codes, weights)[0], paid_currency=quote.paid_currency,
                    paid_amount=quote.paid_amount, exchange_rate=quote.exchange_rate, currency=quote.currency,
                    gross_amount=quote.gross, vat_amount=quote.vat, excise_amount=quote.excise,
                    net_amount=quote.net, units=token.units, token=token.token, tid=tid, key_change_tokens="",
                )
                session.add(sale)
                _record_daily_totals(session, sale)
            meter.last_tid = last_tid
    return (f"Demo data loaded: {len(DISTRICTS)} districts, {len(STATIONS)} sales stations, {len(TARIFFS)} tariffs, "
            f"{customers} customers with meters and accounts, {vends} past sales over {months} months. "
            "Cashier 'cashier1' (OnlyVending) starts with password 123456.")


def demo_meter_type(tariff: Tariff, index: int) -> str:
    """A meter type from the Meter Library's list that fits the tariff: commercial customers get three-phase."""
    if tariff.utility == "electricity":
        phase = "three-phase" if tariff.name.startswith("Commercial") else "single-phase"
        return f"{phase}-{'split' if index % 3 == 0 else 'integrated'}"
    return f"{tariff.utility}-{'split' if index % 2 else 'integrated'}"


def _record_daily_totals(session, sale: Vend) -> None:
    try:
        from stron_tui.services.reports import record_vend_in_daily_totals
    except ImportError:
        return
    session.flush()
    record_vend_in_daily_totals(session, sale)
