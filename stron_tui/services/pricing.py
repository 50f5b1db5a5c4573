"""Money rules for a sale, in Decimal only. Every formula is written here.

Terms
    P      the tariff's price per unit, in the tariff's currency
    e      excise duty rate (0.02 = 2 %), charged on the net charge
    v      VAT rate (0.15 = 15 %), charged on net charge + excise
    P_all  what the customer pays per unit, all taxes in:
             P_all = P                    when the tariff's prices include VAT and excise
             P_all = P * (1 + e) * (1 + v) otherwise
    price(U) = round_money(U * P_all)     the price of U units

What a token carries (STS amount encoding)
    A token's 16-bit amount field holds 0.1-unit steps up to 1,638.3, then
    1-unit steps (from 1,638.4), 10-unit steps (from 18,022.4) and 100-unit
    steps (from 180,222.4); see tokencore/amount.py. A quantity between two
    steps cannot be carried exactly. The rule here: ROUND THE ENCODABLE
    AMOUNT DOWN. The units sold are always a value the token carries exactly
    (encodable_down), so the token, the receipt and the record show the same
    units, and those units never cost more than was paid:
        paid (in the tariff currency) >= price(units on the token).

Top-up by amount (the customer hands over a sum A in currency C):
    G      gross, in the tariff currency = round_down_money(A * rate), rate = units
           of the tariff currency per 1 C (1 when C is the tariff currency); rounded
           down so the gross booked is never more than the money received
    units  = encodable_down(round_down_to_0.1(G / P_all))  (never more energy than paid for)

Top-up by units (the customer asks for U units):
    U      must be a multiple of 0.1; units = encodable_down(U) (18022.5 sells 18022.4)
    G      = price(units) = round_money(units * P_all)
    A      = round_up_money(G / rate) in currency C; rounded up so the money
             received is never less than the gross booked

A sale whose gross or paid amount is zero is refused (0.1 kWh at a tariff
cheaper than half a minor unit would otherwise be given away).

Split of the gross, so that the parts always add up to G exactly and none
is negative (VAT is charged on net + excise, so it is taken out first):
    VAT    = round_money(G * v / (1 + v))
    net    = round_money((G - VAT) / (1 + e))
    excise = G - VAT - net

round_money rounds half up to the currency's minor unit (2 places for USD,
0 for XOF, 3 for KWD). Limits: the tariff's minimum and maximum purchase
apply to G; units may not exceed the STS maximum transfer 1,820,162.4; and
no amount may exceed what its database column holds (fits_column).
Hand-worked examples: docs/money.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import tokencore
from sqlalchemy import Numeric

from stron_tui.db.models import Vend
from stron_tui.errors import ValidationError
from stron_tui.money import in_minor_unit, money_text, quantum

UNIT_STEP = Decimal("0.1")
STS_MAX_UNITS = Decimal("1820162.4")


@dataclass(frozen=True)
class TariffTerms:
    name: str
    unit: str
    price_per_unit: Decimal
    currency: str
    currency_minor_unit: int
    vat_rate: Decimal
    excise_rate: Decimal
    prices_include_vat: bool
    min_purchase: Decimal = Decimal(0)
    max_purchase: Decimal | None = None

    @property
    def price_all_in(self) -> Decimal:
        if self.prices_include_vat:
            return self.price_per_unit
        return self.price_per_unit * (1 + self.excise_rate) * (1 + self.vat_rate)


@dataclass(frozen=True)
class Payment:
    currency: str
    minor_unit: int
    rate: Decimal  # tariff-currency units per 1 unit of this currency


@dataclass(frozen=True)
class Quote:
    mode: str  # "amount" or "units"
    paid_amount: Decimal
    paid_currency: str
    exchange_rate: Decimal
    currency: str
    gross: Decimal
    net: Decimal
    excise: Decimal
    vat: Decimal
    units: Decimal
    unit: str
    price_per_unit: Decimal
    price_all_in: Decimal
    quote_id: str = ""  # set by vending.preview: the fingerprint a sale must match to be this sale


def round_money(value: Decimal, minor_unit: int) -> Decimal:
    return in_minor_unit(value, minor_unit)


def round_money_down(value: Decimal, minor_unit: int) -> Decimal:
    return value.quantize(quantum(minor_unit), rounding=ROUND_FLOOR)


def round_money_up(value: Decimal, minor_unit: int) -> Decimal:
    return value.quantize(quantum(minor_unit), rounding=ROUND_CEILING)


def round_units_down(value: Decimal) -> Decimal:
    return value.quantize(UNIT_STEP, rounding=ROUND_DOWN)


def encodable_down(units: Decimal) -> Decimal:
    """The largest quantity a credit token carries exactly that is not above `units` (0 < units <= STS max)."""
    if units <= 0 or units > STS_MAX_UNITS:
        return units  # _check_limits explains what is wrong with it
    return tokencore.representable_amount_down(units)


def price_of(units: Decimal, terms: "TariffTerms") -> Decimal:
    """What `units` cost on these terms, in the tariff currency (the rule the receipt follows)."""
    return round_money(units * terms.price_all_in, terms.currency_minor_unit)


_LIMITS: dict[int, tuple[object, tuple[int, int]]] = {}  # id(column) -> (column, limits): read once, sales are hot


def column_limits(column) -> tuple[int, int]:
    """(precision, scale) of a Numeric column, read from the model (a Column or a mapped attribute)."""
    known = _LIMITS.get(id(column))
    if known is not None and known[0] is column:
        return known[1]
    kind = column.type
    numeric = getattr(kind, "impl", kind)  # our TypeDecorators wrap a Numeric
    if not isinstance(numeric, Numeric) or numeric.precision is None:
        raise TypeError(f"{column} is not a Numeric column with a precision.")
    limits = numeric.precision, numeric.scale or 0
    _LIMITS[id(column)] = (column, limits)
    return limits


def fits_column(value: Decimal, column, label: str, field: str, *, percent: bool = False) -> Decimal:
    """`value` if the column stores it exactly, else a clear message (never silent rounding to 0).

    A column Numeric(p, s) holds at most s decimal places and p - s digits
    before the point; a value with more places would be rounded by the
    database (a tiny price stored as 0), one with more digits refused by it.
    With `percent` the value is a fraction typed as a percentage (7.5 for
    0.075) and the message speaks in percent. Every door that stores a
    price, rate or amount checks here: forms, imports, the API.
    """
    precision, scale = column_limits(column)
    if not value.is_finite():
        raise ValidationError(f"{label} must be a number.", field=field)
    shift = 2 if percent else 0
    places = max(scale - shift, 0)
    if value != 0 and -value.normalize().as_tuple().exponent > scale:
        shown = value.scaleb(shift).normalize()
        smallest = Decimal(1).scaleb(-places)
        raise ValidationError(f"{label} has at most {places} decimal places (the smallest step is "
                              f"{smallest:f}); {shown:f} has more.", field=field)
    limit = Decimal(10) ** (precision - scale)
    if abs(value) >= limit:
        raise ValidationError(f"{label} must be below {limit.scaleb(shift):,f}.", field=field)
    return value


def _require_price(terms: "TariffTerms") -> None:
    if terms.price_all_in <= 0:
        raise ValidationError(f"Tariff {terms.name} has no price; correct it in the Price Library first.",
                              field="meter")


PLAIN_NUMBER = re.compile(r"^\d{1,12}(\.\d{1,6})?$")


def parse_decimal(text: object, what: str, field: str) -> Decimal:
    """A positive decimal from operator input, or a clear message.

    Only plain numbers (digits, one decimal point, thousands commas) are
    accepted: no exponents, signs or special values, at most 12 digits
    before the point, so nothing typed can overflow a calculation.
    """
    if isinstance(text, Decimal):
        value = text
        if not value.is_finite() or value.adjusted() > 11:
            raise ValidationError(f"The {what} must be a number below 1,000,000,000,000.", field=field)
    else:
        raw = str(text).strip()
        cleaned = raw.replace(",", "").replace(" ", "")
        if not cleaned:
            raise ValidationError(f"Enter the {what}.", field=field)
        if cleaned.startswith("-"):
            raise ValidationError(f"The {what} must be more than zero.", field=field)
        if not PLAIN_NUMBER.match(cleaned):
            raise ValidationError(f"The {what} must be a number like 125.50, not {raw[:20]!r}.", field=field)
        value = Decimal(cleaned)
    if value <= 0:
        raise ValidationError(f"The {what} must be more than zero.", field=field)
    return value


def split_gross(gross: Decimal, terms: TariffTerms) -> tuple[Decimal, Decimal, Decimal]:
    """(net, excise, vat) adding up to `gross` exactly."""
    minor = terms.currency_minor_unit
    vat = round_money(gross * terms.vat_rate / (1 + terms.vat_rate), minor)
    net = round_money((gross - vat) / (1 + terms.excise_rate), minor)
    excise = gross - vat - net
    return net, excise, vat


def _check_limits(gross: Decimal, units: Decimal, terms: TariffTerms, field: str) -> None:
    def shown(amount: Decimal) -> str:  # limits are stored with four places; people read the minor unit
        return money_text(amount, terms.currency, terms.currency_minor_unit)

    symbol = terms.currency
    if gross <= 0:
        raise ValidationError(
            f"This sale costs {gross} {symbol} at {terms.price_all_in.normalize()} {symbol} per {terms.unit}: "
            "nothing is sold for no money; enter a larger quantity.", field=field)
    fits_column(gross, Vend.gross_amount, f"The sale ({gross:f} {symbol})", field)
    if gross < terms.min_purchase:
        raise ValidationError(
            f"The minimum purchase on tariff {terms.name} is {shown(terms.min_purchase)}; this sale is {shown(gross)}.",
            field=field,
        )
    if terms.max_purchase is not None and gross > terms.max_purchase:
        raise ValidationError(
            f"The maximum purchase on tariff {terms.name} is {shown(terms.max_purchase)}; this sale is {shown(gross)}.",
            field=field,
        )
    if units > STS_MAX_UNITS:
        raise ValidationError(
            f"{units} {terms.unit} is more than one token can carry ({STS_MAX_UNITS} {terms.unit}); sell it in parts.",
            field=field,
        )
    if units < UNIT_STEP:
        raise ValidationError(
            f"This amount buys less than {UNIT_STEP} {terms.unit} at {terms.price_all_in.normalize()} "
            f"{terms.currency} per {terms.unit}; enter a larger amount.",
            field=field,
        )


def quote_by_amount(amount: Decimal, payment: Payment, terms: TariffTerms) -> Quote:
    paid = round_money(amount, payment.minor_unit)
    if paid != amount:
        raise ValidationError(
            f"{payment.currency} amounts have {payment.minor_unit} decimal places; {amount} has more.", field="amount"
        )
    fits_column(paid, Vend.paid_amount, f"The amount ({paid:f} {payment.currency})", "amount")
    _require_price(terms)
    gross = round_money_down(paid * payment.rate, terms.currency_minor_unit)
    units = round_units_down(gross / terms.price_all_in)
    _check_limits(gross, units, terms, "amount")
    units = encodable_down(units)
    net, excise, vat = split_gross(gross, terms)
    return Quote("amount", paid, payment.currency, payment.rate, terms.currency, gross, net, excise, vat,
                 units, terms.unit, terms.price_per_unit, terms.price_all_in)


def quote_by_units(units: Decimal, payment: Payment, terms: TariffTerms) -> Quote:
    if units != round_units_down(units):
        raise ValidationError(f"Units are sold in steps of {UNIT_STEP} {terms.unit}; {units} is not.", field="units")
    _require_price(terms)
    units = encodable_down(units)
    gross = price_of(units, terms)
    _check_limits(gross, units, terms, "units")
    paid = round_money_up(gross / payment.rate, payment.minor_unit)
    if paid <= 0:
        raise ValidationError(f"This sale is less than the smallest {payment.currency} amount; "
                              "enter a larger quantity.", field="units")
    fits_column(paid, Vend.paid_amount, f"The amount ({paid:f} {payment.currency})", "units")
    net, excise, vat = split_gross(gross, terms)
    return Quote("units", paid, payment.currency, payment.rate, terms.currency, gross, net, excise, vat,
                 units, terms.unit, terms.price_per_unit, terms.price_all_in)
