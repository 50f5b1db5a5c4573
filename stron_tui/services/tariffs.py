"""Price Library: tariffs. Vends keep their own copy of the price, so edits never rewrite history."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from stron_tui.db.models import Account, Currency, Tariff, Vend
from stron_tui.db.queries import contains_match, prefix_match
from stron_tui.errors import ValidationError
from stron_tui.services.libraries import Field, Library, ListColumn, SearchPlan, register
from stron_tui.services.pricing import fits_column, round_money
from stron_tui.services.text import fold

UTILITIES = ("electricity", "water", "gas", "other")
UNITS = ("kWh", "m3")


class Tariffs(Library):
    name = "tariffs"
    title = "Price Library"
    entity = "tariff"
    permission = "basedata.tariffs.edit"
    model = Tariff
    key_field = "name"
    fields = (
        Field("name", "Name", required=True, max_length=100, example="Residential R1", width=24),
        Field("utility", "Utility", kind="choice", choices=UTILITIES, default="electricity", width=12),
        Field("unit", "Unit", kind="choice", choices=UNITS, default="kWh", width=6),
        Field("price_per_unit", "Price per unit", kind="decimal", required=True, example="0.25", width=12),
        Field("currency_code", "Currency", required=True, max_length=3, example="USD", width=8),
        Field("vat_rate", "VAT rate %", kind="percent", default=Decimal(0), example="7.5", width=10),
        Field("excise_rate", "Excise rate %", kind="percent", default=Decimal(0), example="2", width=10),
        Field("prices_include_vat", "Prices include VAT", kind="bool", default=True, width=8),
        Field("min_purchase", "Minimum purchase", kind="decimal", default=Decimal(0), example="1", width=12),
        Field("max_purchase", "Maximum purchase", kind="decimal", example="500", note="blank: no limit", width=12),
        Field("active", "Active", kind="bool", default=True, width=8),
    )
    list_columns = (
        ListColumn("Name", "name", 24), ListColumn("Utility", "utility", 11), ListColumn("Unit", "unit", 5),
        ListColumn("Price", "price_per_unit", 10), ListColumn("Cur", "currency_code", 4),
        ListColumn("VAT", "vat_rate", 8), ListColumn("Active", "active", 6),
    )
    sorts = {"name": ("Name", Tariff.name_key)}
    default_sort = "name"

    def values_query(self):
        return select(Tariff.id, Tariff.name, Tariff.utility, Tariff.unit, Tariff.price_per_unit, Tariff.currency_code,
                      Tariff.vat_rate, Tariff.excise_rate, Tariff.prices_include_vat, Tariff.min_purchase,
                      Tariff.max_purchase, Tariff.active)

    def key_column(self):
        return Tariff.name_key

    def parse(self, raw):
        values = super().parse(raw)
        values["currency_code"] = values["currency_code"].upper()
        if values["price_per_unit"] <= 0:
            raise ValidationError("The price per unit must be more than 0.", field="price_per_unit")
        if values["max_purchase"] is not None and values["max_purchase"] < values["min_purchase"]:
            raise ValidationError("The maximum purchase is below the minimum.", field="max_purchase")
        if values["utility"] == "electricity" and values["unit"] != "kWh":
            raise ValidationError("Electricity is sold in kWh.", field="unit")
        if values["utility"] in ("water", "gas") and values["unit"] != "m3":
            raise ValidationError(f"{values['utility'].capitalize()} is sold in m3.", field="unit")
        for spec in self.fields:  # form, Excel import and any other door all parse here
            if spec.kind in ("decimal", "percent") and values[spec.name] is not None:
                fits_column(values[spec.name], getattr(Tariff, spec.name), spec.label, spec.name,
                            percent=spec.kind == "percent")
        return values

    def resolve(self, session, records):
        minor_units = dict(session.execute(select(Currency.code, Currency.minor_unit)).all())
        errors: dict[int, dict[str, str]] = {}
        for index, values in enumerate(records):
            code = values["currency_code"]
            if code not in minor_units:
                errors[index] = {"currency_code": f"There is no currency {code}; add it in System Management."}
                continue
            for name in ("min_purchase", "max_purchase"):
                amount = values[name]
                if amount is not None and amount != round_money(amount, minor_units[code]):
                    spec = self.fields_by_name[name]
                    errors.setdefault(index, {})[name] = (
                        f"{spec.label} {amount} has more decimal places than {code} has ({minor_units[code]}).")
        return errors

    def columns(self, values):
        columns = {spec.name: values[spec.name] for spec in self.fields}
        columns["name_key"] = fold(values["name"])
        return columns

    def search_plan(self, text):
        key = fold(text)
        return SearchPlan((
            ("prefix", prefix_match(Tariff.name_key, key)),
            ("contains", or_(contains_match(Tariff.name_key, key), Tariff.utility == key, Tariff.currency_code == text.upper())),
        ))

    def delete_refusal(self, session: Session, record_id: int) -> str | None:
        if session.scalar(select(exists().where(Account.tariff_id == record_id))):
            return "accounts use it; set it inactive (retire it) instead."
        if session.scalar(select(exists().where(Vend.tariff_id == record_id))):
            return "past sales used it; set it inactive (retire it) instead."
        return None


LIBRARY = register(Tariffs())
