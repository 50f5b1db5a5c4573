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

The two functions right below (quote_by_amount, quote_by_units) price a flat tariff with no account
behind it (demo data, tools). EVERY SALE is priced by revenue_by_amount / revenue_by_units further down
("ORDER OF DEDUCTIONS"), of which a flat tariff is the one-block case; there, by units, the energy's
cost rounds UP to the minor unit so that no token carries more than was paid for.

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
    # The revenue model (see "Order of deductions" below); zero on a plain flat sale.
    debt_recovered: Decimal = Decimal(0)
    debt_after: Decimal = Decimal(0)
    fixed_charge: Decimal = Decimal(0)
    fixed_charge_months: int = 0
    fixed_charge_vat: Decimal = Decimal(0)
    energy: Decimal | None = None  # None: the whole gross is energy (a flat sale)
    blocks: tuple["BlockLine", ...] = ()
    free_units: Decimal = Decimal(0)
    subsidy: Decimal = Decimal(0)
    tariff_version_id: int | None = None

    @property
    def energy_amount(self) -> Decimal:
        return self.gross if self.energy is None else self.energy


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


# The revenue model: block tariffs, fixed charges, debt recovery, free units, caps ---------------------------
#
# ORDER OF DEDUCTIONS (the one written rule; docs/money.md works it by hand)
#
#   G  gross received, in the tariff currency (by amount: round_money_down(A * rate), as above)
#   1. Debt share D, taken first, never taxed (the tax was on the bill that made the debt):
#        D = round_money_down(G * percent) + fixed_per_purchase
#        D = min(D, debt balance, month_limit - recovered this month,
#                G - fixed charges due - minimum left for energy), and never below 0
#   2. Fixed charges F, next: F = min(charges due, G - D); what the payment cannot cover stays due.
#        Charges due = months due x the version's charge per month (all-in: + VAT when the tariff
#        charges VAT on it and prices exclude VAT), less what was part-paid. Months without a purchase
#        accrue up to the tariff's accrue_months (0 = lapse: only this month is due).
#        VAT inside F (when VAT applies to it) = round_money(F * v / (1 + v)); no excise.
#   3. Energy E = G - D - F, split into net, excise and VAT exactly as a flat sale (split_gross).
#        Units: walk the blocks from the units the account bought this calendar month (local time);
#        a block is filled while E pays for all of its room (exactly, no rounding), the rest of E buys
#        round_units_down(left / P_all) in the block it reaches. Then encodable_down. Free units do not
#        count toward the month's blocks.
#        Each block's amount: cumulative cost rounded down, differenced; the last block takes the rest
#        of E (the part of a 0.1 unit that money cannot buy stays in the energy paid).
#   So  G = D + F + E  exactly, every part >= 0, and sum(units_i * P_all_i) <= E: never more energy
#   than paid for. Totals on the sale row: vat = VAT(E) + VAT(F); excise = excise(E);
#   net = G - vat - excise (debt and the charges' net included).
#
#   By units (U asked): U is cut to what a token carries and walked through the blocks; energy
#   E_U = round_money_up(sum(u_i * P_all_i)); G is the smallest amount whose split above leaves
#   E >= E_U (found by bisection over minor units); the token carries U.
#
#   Free units: an account registered for N free units a month gets them once per calendar month
#   (local time) as a separate zero-paid token; subsidy = round_money(N x P_all of the first block).
#   Caps: units this day / month + U and money this day / month + G may not pass the tariff's caps.


@dataclass(frozen=True)
class Block:
    """Units bought this month up to `up_to` (None: no bound) cost `price` per unit (as the tariff states it)."""

    up_to: Decimal | None
    price: Decimal


@dataclass(frozen=True)
class BlockLine:
    position: int  # 1 = the first (cheapest, usually) block
    units: Decimal
    price_all_in: Decimal
    amount: Decimal


@dataclass(frozen=True)
class RecoveryRule:
    percent: Decimal = Decimal(0)  # a fraction of each payment, 0..1
    fixed: Decimal = Decimal(0)  # per purchase
    month_limit: Decimal | None = None
    min_energy: Decimal = Decimal(0)


@dataclass(frozen=True)
class Schedule:
    """The tariff version in force and the tariff's revenue settings."""

    blocks: tuple[Block, ...]
    fixed_charge: Decimal = Decimal(0)  # per month, as entered
    fixed_charge_vat: bool = False
    accrue_months: int = 0  # 0: an unpaid month lapses; N: up to N months accrue
    cap_units_day: Decimal | None = None
    cap_units_month: Decimal | None = None
    cap_money_day: Decimal | None = None
    cap_money_month: Decimal | None = None
    version_id: int | None = None


@dataclass(frozen=True)
class AccountState:
    """An account's revenue columns as stored (month/day keys in the utility's local time)."""

    debt: Decimal = Decimal(0)
    recovery: RecoveryRule = RecoveryRule()
    free_units: Decimal = Decimal(0)  # monthly allowance; 0 = not registered
    free_issued_month: str | None = None
    usage_month: str | None = None  # "YYYY-MM" the month counters belong to
    month_units: Decimal = Decimal(0)
    month_money: Decimal = Decimal(0)
    month_recovered: Decimal = Decimal(0)
    usage_day: str | None = None  # "YYYY-MM-DD"
    day_units: Decimal = Decimal(0)
    day_money: Decimal = Decimal(0)
    charge_paid_month: str | None = None  # the last month whose fixed charge is paid in full
    charge_part_paid: Decimal = Decimal(0)  # paid toward the month after it


@dataclass(frozen=True)
class Position:
    """What this sale starts from: the state rolled to today, and the charges due."""

    month: str
    day: str
    month_units: Decimal
    month_money: Decimal
    month_recovered: Decimal
    day_units: Decimal
    day_money: Decimal
    debt: Decimal
    recovery: RecoveryRule
    charge_months: int
    charge_per_month: Decimal
    charge_due: Decimal
    charge_part_paid: Decimal  # what still counts toward the oldest month due
    free_units_due: Decimal


def month_index(key: str) -> int:
    year, month = key.split("-")[:2]
    return int(year) * 12 + int(month) - 1


def month_key(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def charge_all_in(schedule: Schedule, terms: TariffTerms) -> Decimal:
    """The monthly charge the customer pays: + VAT when VAT applies to it and prices are stated without VAT."""
    return monthly_charge(schedule.fixed_charge, schedule.fixed_charge_vat, prices_include_vat=terms.prices_include_vat,
                          vat_rate=terms.vat_rate, minor_unit=terms.currency_minor_unit)


def monthly_charge(fixed_charge: Decimal, vat_applies: bool, *, prices_include_vat: bool, vat_rate: Decimal,
                   minor_unit: int) -> Decimal:
    """charge_all_in from the values themselves (a recorded sale's, when it is reversed)."""
    if vat_applies and not prices_include_vat:
        return round_money(fixed_charge * (1 + vat_rate), minor_unit)
    return fixed_charge


def charges_due(per_month: Decimal, paid_month: str | None, part_paid: Decimal, this_month: str,
                accrue_months: int) -> tuple[int, Decimal, Decimal]:
    """(months due, amount due, part-paid still counting) for the fixed charge.

    Months after the last fully paid one up to this one are due; at most
    max(1, accrue_months) of them (older ones lapse, and with them any part
    paid toward them). A new account owes from its first month of purchase.
    """
    if per_month <= 0:
        return 0, Decimal(0), Decimal(0)
    now = month_index(this_month)
    first = now if paid_month is None else month_index(paid_month) + 1
    months = now - first + 1
    if months <= 0:
        return 0, Decimal(0), Decimal(0)
    keep = max(1, accrue_months)
    if months > keep:
        months, part_paid = keep, Decimal(0)
    part_paid = min(part_paid, per_month)
    return months, months * per_month - part_paid, part_paid


def charges_after(position: Position, paid: Decimal) -> tuple[str | None, Decimal] | None:
    """(last month paid in full, part paid toward the next) after paying `paid`; None: nothing changes."""
    per_month = position.charge_per_month
    if per_month <= 0 or position.charge_months == 0:
        return None
    first_due = month_index(position.month) - position.charge_months + 1
    total = position.charge_part_paid + paid
    full = int(total // per_month)
    return month_key(first_due + full - 1), total - full * per_month


def roll_position(state: AccountState, schedule: Schedule, terms: TariffTerms, month: str, day: str) -> Position:
    """The account's counters for `month` and `day` (local time): counters of another month start at 0."""
    same_month, same_day = state.usage_month == month, state.usage_day == day
    per_month = charge_all_in(schedule, terms)
    months, due, part = charges_due(per_month, state.charge_paid_month,
                                    state.charge_part_paid, month, schedule.accrue_months)
    return Position(
        month=month, day=day,
        month_units=state.month_units if same_month else Decimal(0),
        month_money=state.month_money if same_month else Decimal(0),
        month_recovered=state.month_recovered if same_month else Decimal(0),
        day_units=state.day_units if same_day else Decimal(0),
        day_money=state.day_money if same_day else Decimal(0),
        debt=max(state.debt, Decimal(0)), recovery=state.recovery, charge_months=months,
        charge_per_month=per_month, charge_due=due,
        charge_part_paid=part,
        free_units_due=state.free_units if state.free_units > 0 and state.free_issued_month != month else Decimal(0),
    )


def block_price_all_in(price: Decimal, terms: TariffTerms) -> Decimal:
    return price if terms.prices_include_vat else price * (1 + terms.excise_rate) * (1 + terms.vat_rate)


def debt_share(gross: Decimal, position: Position, minor_unit: int) -> Decimal:
    """Step 1 of the order of deductions."""
    rule = position.recovery
    if position.debt <= 0 or (rule.percent <= 0 and rule.fixed <= 0):
        return Decimal(0)
    share = round_money_down(gross * rule.percent, minor_unit) + rule.fixed
    if rule.month_limit is not None:
        share = min(share, rule.month_limit - position.month_recovered)
    share = min(share, position.debt, gross - position.charge_due - rule.min_energy)
    return max(share, Decimal(0))


def _lines(units_per_block: list[tuple[int, Decimal, Decimal]], energy: Decimal, minor: int) -> tuple[BlockLine, ...]:
    """Block amounts: cumulative cost rounded down, differenced; the last takes the rest of `energy`."""
    lines, cumulative, booked = [], Decimal(0), Decimal(0)
    for index, (position, units, price) in enumerate(units_per_block):
        cumulative += units * price
        if index == len(units_per_block) - 1:
            amount = energy - booked
        else:
            amount = round_money_down(cumulative, minor) - booked
        booked += amount
        lines.append(BlockLine(position, units, price, amount))
    return tuple(lines)


def walk_units(units: Decimal, schedule: Schedule, terms: TariffTerms,
               month_units: Decimal) -> list[tuple[int, Decimal, Decimal]]:
    """(block, units, P_all) for `units` bought on top of `month_units`."""
    left, at, out = units, month_units, []
    for number, block in enumerate(schedule.blocks, start=1):
        if left <= 0:
            break
        if block.up_to is not None and at >= block.up_to:
            continue
        take = left if block.up_to is None else min(left, block.up_to - at)
        out.append((number, take, block_price_all_in(block.price, terms)))
        left -= take
        at += take
    return out


def walk_money(energy: Decimal, schedule: Schedule, terms: TariffTerms, month_units: Decimal) -> Decimal:
    """The units `energy` buys on top of `month_units` (before what a token carries), never costing more."""
    left, at, units = energy, month_units, Decimal(0)
    for block in schedule.blocks:
        if block.up_to is not None and at >= block.up_to:
            continue
        price = block_price_all_in(block.price, terms)
        if block.up_to is not None and (block.up_to - at) * price <= left:
            room = block.up_to - at
            left -= room * price
            units += room
            at += room
            continue
        return units + round_units_down(left / price)
    return units


def _energy_cost(lines: list[tuple[int, Decimal, Decimal]]) -> Decimal:
    return sum((units * price for _, units, price in lines), Decimal(0))


def _split(gross: Decimal, position: Position, minor: int) -> tuple[Decimal, Decimal, Decimal]:
    """(debt, charges, energy) of a gross: steps 1 and 2, energy the rest."""
    step = quantum(minor)  # stored amounts carry four places: figures show the currency's own
    debt = debt_share(gross, position, minor).quantize(step)
    charge = min(position.charge_due, gross - debt).quantize(step)
    return debt, charge, (gross - debt - charge).quantize(step)


def _breakdown(mode: str, paid: Decimal, payment: Payment, terms: TariffTerms, schedule: Schedule,
               position: Position, gross: Decimal, units: Decimal) -> Quote:
    minor = terms.currency_minor_unit
    debt, charge, energy = _split(gross, position, minor)
    walked = walk_units(units, schedule, terms, position.month_units)
    lines = _lines(walked, energy, minor) if walked else ()
    net_e, excise, vat_e = split_gross(energy, terms)
    vat_f = round_money(charge * terms.vat_rate / (1 + terms.vat_rate), minor) if schedule.fixed_charge_vat else Decimal(0)
    vat = vat_e + vat_f
    first_price = lines[0].price_all_in if lines else block_price_all_in(schedule.blocks[0].price, terms)
    first_block = schedule.blocks[lines[0].position - 1] if lines else schedule.blocks[0]
    months = 0
    if charge > 0:  # months the charge paid touches, oldest first
        touched = -((position.charge_part_paid + charge) // -position.charge_per_month)
        months = min(int(touched), position.charge_months)
    free = position.free_units_due
    subsidy = round_money(free * block_price_all_in(schedule.blocks[0].price, terms), minor) if free else Decimal(0)
    return Quote(mode, paid, payment.currency, payment.rate, terms.currency, gross, gross - vat - excise, excise, vat,
                 units, terms.unit, first_block.price, first_price,
                 debt_recovered=debt, debt_after=(position.debt - debt).quantize(quantum(minor)), fixed_charge=charge, fixed_charge_months=months,
                 fixed_charge_vat=vat_f, energy=energy, blocks=lines, free_units=free, subsidy=subsidy,
                 tariff_version_id=schedule.version_id)


def revenue_by_amount(amount: Decimal, payment: Payment, terms: TariffTerms, schedule: Schedule,
                      position: Position) -> Quote:
    """The breakdown of an amount paid (may carry 0 units: the sale path decides what that means)."""
    paid = round_money(amount, payment.minor_unit)
    if paid != amount:
        raise ValidationError(
            f"{payment.currency} amounts have {payment.minor_unit} decimal places; {amount} has more.", field="amount")
    fits_column(paid, Vend.paid_amount, f"The amount ({paid:f} {payment.currency})", "amount")
    gross = round_money_down(paid * payment.rate, terms.currency_minor_unit)
    _, _, energy = _split(gross, position, terms.currency_minor_unit)
    units = walk_money(energy, schedule, terms, position.month_units)
    if 0 < units <= STS_MAX_UNITS:
        units = encodable_down(units)
    return _breakdown("amount", paid, payment, terms, schedule, position, gross, units)


def revenue_by_units(units: Decimal, payment: Payment, terms: TariffTerms, schedule: Schedule,
                     position: Position) -> Quote:
    """The breakdown of U units asked: the smallest payment whose energy pays for them."""
    if units != round_units_down(units):
        raise ValidationError(f"Units are sold in steps of {UNIT_STEP} {terms.unit}; {units} is not.", field="units")
    if units > STS_MAX_UNITS:
        raise ValidationError(f"{units} {terms.unit} is more than one token can carry ({STS_MAX_UNITS} "
                              f"{terms.unit}); sell it in parts.", field="units")
    units = encodable_down(units)
    minor = terms.currency_minor_unit
    needed = round_money_up(_energy_cost(walk_units(units, schedule, terms, position.month_units)), minor)
    step = quantum(minor)
    low, high = needed, needed + position.charge_due + position.debt + position.recovery.fixed
    # energy(G) grows with G (the debt share takes at most a share of each extra minor unit): bisect.
    while low < high:
        middle = round_money_down((low + high) / 2, minor)
        if _split(middle, position, minor)[2] >= needed:
            high = middle
        else:
            low = middle + step
    gross = low
    paid = round_money_up(gross / payment.rate, payment.minor_unit)
    return _breakdown("units", paid, payment, terms, schedule, position, gross, units)


def check_revenue_sale(quote: Quote, terms: TariffTerms, schedule: Schedule, position: Position) -> None:
    """A token sale's limits: money for energy, the tariff's minimum and maximum, the caps (what is left)."""
    field, symbol, unit = quote.mode, terms.currency, terms.unit
    if quote.gross <= 0 or quote.paid_amount <= 0:
        raise ValidationError("Nothing is sold for no money; enter a larger quantity.", field=field)
    fits_column(quote.gross, Vend.gross_amount, f"The sale ({quote.gross:f} {symbol})", field)
    fits_column(quote.paid_amount, Vend.paid_amount, f"The amount ({quote.paid_amount:f} {quote.paid_currency})",
                field)
    if quote.units > STS_MAX_UNITS:
        raise ValidationError(f"{quote.units} {unit} is more than one token can carry ({STS_MAX_UNITS} {unit}); "
                              "sell it in parts.", field=field)
    def shown(amount: Decimal) -> str:  # limits are stored with four places; people read the minor unit
        return money_text(amount, symbol, terms.currency_minor_unit)

    if quote.gross < terms.min_purchase:
        raise ValidationError(f"The minimum purchase on tariff {terms.name} is {shown(terms.min_purchase)}; "
                              f"this sale is {shown(quote.gross)}.", field=field)
    if terms.max_purchase is not None and quote.gross > terms.max_purchase:
        raise ValidationError(f"The maximum purchase on tariff {terms.name} is {shown(terms.max_purchase)}; "
                              f"this sale is {shown(quote.gross)}.", field=field)
    if quote.units < UNIT_STEP:
        taken = quote.debt_recovered + quote.fixed_charge
        raise ValidationError(
            f"After debt recovery ({quote.debt_recovered} {symbol}) and fixed charges ({quote.fixed_charge} "
            f"{symbol}) this payment buys less than {UNIT_STEP} {unit}; pay more than {taken} {symbol}, "
            "or take it as a debt payment.", field=field)
    for cap, used, added, what, period in (
            (schedule.cap_units_day, position.day_units, quote.units, unit, "today"),
            (schedule.cap_units_month, position.month_units, quote.units, unit, "this month"),
            (schedule.cap_money_day, position.day_money, quote.gross, symbol, "today"),
            (schedule.cap_money_month, position.month_money, quote.gross, symbol, "this month")):
        if cap is not None and used + added > cap:
            left = max(cap - used, Decimal(0))
            raise ValidationError(f"Tariff {terms.name} allows {cap} {what} per account {period}; "
                                  f"{left} {what} left {period}.", field=field)


def flat_schedule(terms: TariffTerms) -> Schedule:
    """A tariff without versions: one block at its price, no charge."""
    return Schedule(blocks=(Block(None, terms.price_per_unit),))


def validate_blocks(blocks: list[Block], field: str = "blocks") -> tuple[Block, ...]:
    """Blocks in order, bounds rising in 0.1 steps, the last without a bound, every price above zero."""
    if not blocks:
        raise ValidationError("A tariff version needs at least one block.", field=field)
    previous = Decimal(0)
    for number, block in enumerate(blocks, start=1):
        if block.price is None or block.price <= 0:
            raise ValidationError(f"Block {number}: the price must be more than 0.", field=f"{field}.{number}.price")
        last = number == len(blocks)
        if last and block.up_to is not None:
            raise ValidationError(f"Block {number} is the last: leave its upper bound blank (no limit).",
                                  field=f"{field}.{number}.up_to")
        if not last:
            if block.up_to is None:
                raise ValidationError(f"Block {number} needs an upper bound (only the last block has none).",
                                      field=f"{field}.{number}.up_to")
            if block.up_to != round_units_down(block.up_to):
                raise ValidationError(f"Block {number}: bounds are in steps of {UNIT_STEP}.",
                                      field=f"{field}.{number}.up_to")
            if block.up_to <= previous:
                raise ValidationError(f"Block {number} must end above {previous} (blocks in order, no overlap).",
                                      field=f"{field}.{number}.up_to")
            previous = block.up_to
    return tuple(blocks)


def validate_recovery(rule: RecoveryRule, field: str = "recovery") -> RecoveryRule:
    if rule.percent < 0 or rule.percent > 1:
        raise ValidationError("The recovery percentage must be between 0 and 100.", field=f"{field}_percent")
    for name, value in (("fixed", rule.fixed), ("min_energy", rule.min_energy)):
        if value < 0:
            raise ValidationError("Recovery amounts cannot be negative.", field=f"{field}_{name}")
    if rule.month_limit is not None and rule.month_limit < 0:
        raise ValidationError("The monthly recovery limit cannot be negative.", field=f"{field}_month_limit")
    return rule
