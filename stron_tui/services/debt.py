"""Customers' debt (arrears): supervisors add, adjust or write it off with a reason; customers pay it off.

Every movement is a DebtEntry row (the debt report reads them) and an audit
row. Each one first takes the row lock of the account's meter, the lock every
sale of the account holds while it recovers debt (services/revenue.py), so a
write-off and a sale at once never both count the same debt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update

from stron_tui.db.models import Account, DebtEntry, SalesStation
from stron_tui.errors import NotFound, ValidationError
from stron_tui.services import audit, live_rights
from stron_tui.domain.clock import local_date, utcnow
from stron_tui.domain.meters import meter_number as valid_meter_number
from stron_tui.services.context import AppContext
from stron_tui.services.libraries import Field
from stron_tui.services.permissions import Actor
from stron_tui.services.pricing import fits_column, parse_decimal
from stron_tui.services.revenue import lock_account_meter
from stron_tui.domain.text import clean

PERMISSION = "basedata.accounts.debt"
KINDS = {"added": "added to", "adjusted": "adjusted on", "written_off": "written off"}


@dataclass(frozen=True)
class DebtMove:
    account_number: str
    kind: str
    amount: Decimal  # + adds to the debt, - takes it off
    balance_after: Decimal
    reason: str
    created_at: datetime | None = None  # UTC
    kind_text: str = ""


def accounts_in_reach(actor: Actor):
    """The accounts whose debt an actor may see and move: the reports' scope rule (reports/scope.py) on the
    account's station. An operator without reports.all_stations reaches their own station's accounts."""
    from sqlalchemy import false, true

    from stron_tui.services.reports.scope import record_limit

    limit = record_limit(actor)
    if limit.everything or limit.api_account_id is not None:  # an API account's own rights decide (partners)
        return true()
    return Account.station_id == limit.station_id if limit.station_id is not None else false()


def _account(session, account_number: str, actor: Actor | None = None) -> Account:
    query = select(Account).where(Account.account_number == account_number.strip().upper())
    if actor is not None:  # out of reach reads as not there, as reports/scope.visible_to does
        query = query.where(accounts_in_reach(actor))
    account = session.scalar(query)
    if account is None:
        raise NotFound(f"There is no account {account_number.strip()[:30]}.")
    return account


def _check_minor_unit(session, account: Account, value: Decimal, field: str) -> None:
    """Debt is owed in the account's tariff currency: no more decimal places than it has."""
    from stron_tui.db.models import Currency, Tariff

    code, places = session.execute(select(Tariff.currency_code, Currency.minor_unit)
                                   .join(Currency, Currency.code == Tariff.currency_code)
                                   .where(Tariff.id == account.tariff_id)).one()
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError(f"{code} amounts have {places} decimal places.", field=field)


def _reason(text: object) -> str:
    reason = clean(str(text or "")).strip()
    if len(reason) < 3:
        raise ValidationError("Give the reason for this change of debt (it is kept in the audit trail).",
                              field="reason")
    if len(reason) > 200:
        raise ValidationError("The reason has at most 200 characters.", field="reason")
    return reason


def change_debt(ctx: AppContext, actor: Actor, account_number: str, kind: str, amount: object,
                reason: str, *, payment_password: str | None = None) -> DebtMove:
    """Add debt, set it to a new balance ("adjusted"), or write part or all of it off; with a reason.

    `amount`: added -> the debt added; adjusted -> the new balance; written_off -> the amount written off.
    An operator confirms with the payment password, as for every other movement of money.
    """
    from stron_tui.services import auth

    actor.require(PERMISSION)
    if kind not in KINDS:
        raise ValidationError(f"Choose what to do with the debt: {', '.join(KINDS)}.", field="kind")
    reason = _reason(reason)
    if kind == "adjusted" and str(amount).strip() in ("0", "0.00", "0.0"):
        value = Decimal(0)
    else:
        value = parse_decimal(amount, "amount", "amount")
    fits_column(value, DebtEntry.amount, "The amount", "amount")
    if actor.api_account_id is None:
        auth.confirm_payment(ctx, actor, payment_password or "")
    with ctx.db.session() as session:
        live_rights.require_live(session, actor, PERMISSION)
        account = _account(session, account_number, actor)
        lock_account_meter(session, account.id)
        session.refresh(account)
        _check_minor_unit(session, account, value, "amount")
        balance = account.debt_balance
        if kind == "added":
            change = value
        elif kind == "adjusted":
            change = value - balance
        else:
            if value > balance:
                raise ValidationError(f"Account {account.account_number} owes {balance}; no more than that can "
                                      "be written off.", field="amount")
            change = -value
        after = balance + change
        now = utcnow()
        session.execute(update(Account).where(Account.id == account.id).values(debt_balance=after))
        station = session.get(SalesStation, actor.station_id) if actor.station_id else None
        session.add(DebtEntry(account_id=account.id, created_at=now,
                              business_date=local_date(now, ctx.settings.zone), kind=kind, amount=change,
                              balance_after=after, reason=reason, user_id=actor.user_id,
                              api_account_id=actor.api_account_id, station_id=actor.station_id,
                              district_id=station.district_id if station else None))
        audit.record(session, actor, f"debt.{kind}", entity="account", entity_id=account.account_number,
                     summary=f"debt {KINDS[kind]} account {account.account_number}: {change:+} -> {after}",
                     detail={"before": balance, "change": change, "after": after, "reason": reason})
        return DebtMove(account.account_number, kind, change, after, reason)


# ---------------------------------------------------------------- debt balances from Excel


class DebtSheet:
    """The debt import's sheet, described as a library is (excel_io reads and templates it the same way)."""

    name = "debt"
    title = "Debt balances"
    key_field = "account_number"
    fields = (
        Field("account_number", "Account number", required=True, max_length=30, example="AC0000001", width=16),
        Field("debt", "Debt balance", kind="decimal", required=True, example="125.50", width=14,
              note="the balance owed from now on, in the account's tariff currency; 0 clears it"),
        Field("reason", "Reason", required=True, max_length=200, example="Arrears from the postpaid meter",
              width=40, note="kept with the change and in the audit trail"),
    )
    fields_by_name = {spec.name: spec for spec in fields}


DEBT_SHEET = DebtSheet()


def write_debt_template(target) -> None:
    """The debt import template: column titles, an example row and a sheet on how to fill it."""
    from stron_tui.services.excel_io import write_template

    write_template(DEBT_SHEET, target)


IMPORT_CHUNK = 500  # rows checked, locked and written together (one IN list stays far below any server's limit)


def import_balances(ctx: AppContext, actor: Actor, path, progress=None):
    """Set accounts' debt balances from an .xlsx (Account number, Debt balance, Reason).

    All rows in one transaction, or none with every problem listed by row and
    column. Each changed balance is an "imported" DebtEntry (the debt report
    counts it as added or written off by its sign) and an audit row, written
    under the accounts' meter locks as sales take them; a row that leaves the
    balance as it was changes nothing. Rows go in chunks: one look-up, one
    lock and one write of each kind per chunk.
    """
    from sqlalchemy import insert

    from stron_tui.db.models import AuditEntry, Currency, Meter, Tariff
    from stron_tui.db.queries import for_update
    from stron_tui.services import excel_io
    from stron_tui.services.audit import entry_rows

    actor.require("basedata.import")
    actor.require(PERMISSION)
    path = excel_io.import_source(ctx, actor, path)
    total, rows = excel_io.read_rows(path, DEBT_SHEET)
    headers = {spec.name: spec.header for spec in DEBT_SHEET.fields}
    errors: list = []
    counts = {"rows": 0, "changed": 0, "unchanged": 0}
    seen: dict[str, int] = {}
    now = utcnow()

    def refuse(number: int, field: str, message: str) -> None:
        errors.append(excel_io.RowError(number, headers.get(field, field), message))

    def handle(session, chunk, district_id) -> None:
        typed = []
        for number, raw in chunk:
            try:
                account_number = clean(str(raw.get("account_number") or "")).strip().upper()
                if not account_number:
                    raise ValidationError("Enter the account number.", field="account_number")
                if account_number in seen:
                    raise ValidationError(f"{account_number} is also in row {seen[account_number]}.",
                                          field="account_number")
                seen[account_number] = number
                text = str(raw.get("debt") if raw.get("debt") is not None else "").strip()
                value = Decimal(0) if text in ("0", "0.0", "0.00") else parse_decimal(text, "debt balance", "debt")
                fits_column(value, DebtEntry.amount, "The debt balance", "debt")
                typed.append((number, account_number, value, _reason(raw.get("reason"))))
            except ValidationError as error:
                refuse(number, error.field or "", str(error))
        found = {row.account_number: row for row in session.execute(
            select(Account.id, Account.account_number, Account.meter_id, Currency.code, Currency.minor_unit)
            .join(Tariff, Tariff.id == Account.tariff_id).join(Currency, Currency.code == Tariff.currency_code)
            .where(Account.account_number.in_([item[1] for item in typed]), accounts_in_reach(actor)))}
        good = []
        for number, account_number, value, reason in typed:
            account = found.get(account_number)
            if account is None:
                refuse(number, "account_number", f"There is no account {account_number[:30]}.")
            elif value != value.quantize(Decimal(1).scaleb(-account.minor_unit)):
                refuse(number, "debt", f"{account.code} amounts have {account.minor_unit} decimal places.")
            else:
                good.append((account, value, reason))
        if errors or not good:
            return  # keep checking the remaining rows; nothing will be written
        session.execute(for_update(select(Meter.id).where(Meter.id.in_([a.meter_id for a, _, _ in good]))
                                   .order_by(Meter.id), Meter))
        balances = dict(session.execute(select(Account.id, Account.debt_balance)
                                        .where(Account.id.in_([a.id for a, _, _ in good]))).all())
        entries, updates, audits = [], [], []
        for account, value, reason in good:
            change = value - balances[account.id]
            if change == 0:
                counts["unchanged"] += 1
                continue
            updates.append({"id": account.id, "debt_balance": value})
            entries.append(dict(account_id=account.id, created_at=now, business_date=local_date(now, ctx.settings.zone),
                                kind="imported", amount=change, balance_after=value, reason=reason,
                                user_id=actor.user_id, api_account_id=actor.api_account_id,
                                station_id=actor.station_id, district_id=district_id, vend_id=None,
                                receipt_number=""))
            audits.append((account.account_number, f"debt of account {account.account_number} set to {value} by "
                           f"import ({change:+})", {"file": path.name, "before": balances[account.id],
                                                    "change": change, "after": value, "reason": reason}))
        if updates:
            session.execute(update(Account), updates)
            session.execute(insert(DebtEntry), entries)
            session.execute(insert(AuditEntry), entry_rows(actor, "debt.imported", "account", audits))
        counts["changed"] += len(updates)

    with ctx.db.session() as session:
        live_rights.require_live(session, actor, PERMISSION)
        station = session.get(SalesStation, actor.station_id) if actor.station_id else None
        district_id = station.district_id if station else None
        chunk: list = []
        for item in rows:
            counts["rows"] += 1
            chunk.append(item)
            if len(chunk) >= IMPORT_CHUNK:
                handle(session, chunk, district_id)
                chunk = []
                if progress:
                    progress(counts["rows"], total)
        if chunk:
            handle(session, chunk, district_id)
        if progress:
            progress(counts["rows"], total)
        if errors:
            session.rollback()
            errors.sort(key=lambda error: error.row)
            return excel_io.ImportReport("debt", str(path), counts["rows"], errors=tuple(errors[:excel_io.MAX_ERRORS]),
                                         more_errors=len(errors) > excel_io.MAX_ERRORS)
        audit.record(session, actor, "debt.import", entity="account",
                     summary=f"imported debt balances from {path.name}: {counts['changed']} changed, "
                             f"{counts['unchanged']} unchanged", detail={"file": str(path), **counts})
    return excel_io.ImportReport("debt", str(path), counts["rows"], updated=counts["changed"],
                                 unchanged=counts["unchanged"])


HISTORY_WORDS = {"added": "added", "adjusted": "adjusted", "written_off": "written off", "imported": "imported",
                 "recovered": "recovered", "paid": "paid"}


def debt_history(ctx: AppContext, actor: Actor, account_number: str, limit: int = 50) -> list[DebtMove]:
    """An account's debt movements, newest first: who changed it why, and what sales recovered."""
    actor.require("basedata.view")
    with ctx.db.read_session() as session:
        account = _account(session, account_number, actor)
        rows = session.scalars(select(DebtEntry).where(DebtEntry.account_id == account.id)
                               .order_by(DebtEntry.id.desc()).limit(limit))
        return [DebtMove(account.account_number, row.kind, row.amount, row.balance_after,
                         (f"receipt {row.receipt_number}" if row.kind in ("recovered", "paid") and row.receipt_number
                          else row.reason), row.created_at,
                         HISTORY_WORDS.get(row.kind, row.kind)) for row in rows]


@dataclass(frozen=True)
class RevenueTerms:
    """An account's recovery rule and free-unit registration, as typed (percent as a percentage)."""

    recovery_percent: object = "0"
    recovery_fixed: object = "0"
    recovery_month_limit: object = ""
    recovery_min_energy: object = "0"
    free_units: object = "0"


def _amount(text: object, what: str, field: str, *, blank_is_none: bool = False) -> Decimal | None:
    raw = str(text if text is not None else "").strip()
    if not raw:
        if blank_is_none:
            return None
        return Decimal(0)
    if raw in ("0", "0.0", "0.00"):
        return Decimal(0)
    return parse_decimal(raw, what, field)


def set_revenue_terms(ctx: AppContext, actor: Actor, account_number: str, terms: RevenueTerms) -> None:
    """Set an account's debt recovery rule and free basic units per month (0: not registered)."""
    from stron_tui.services.pricing import RecoveryRule, round_units_down, validate_recovery

    actor.require("basedata.accounts.edit")
    percent = _amount(terms.recovery_percent, "recovery percentage", "recovery_percent")
    if percent > 100:
        raise ValidationError("The recovery percentage must be between 0 and 100.", field="recovery_percent")
    fits_column(percent / 100, Account.recovery_percent, "The recovery percentage", "recovery_percent", percent=True)
    rule = validate_recovery(RecoveryRule(
        percent / 100, _amount(terms.recovery_fixed, "fixed recovery", "recovery_fixed"),
        _amount(terms.recovery_month_limit, "monthly limit", "recovery_month_limit", blank_is_none=True),
        _amount(terms.recovery_min_energy, "minimum for energy", "recovery_min_energy")))
    free = _amount(terms.free_units, "free units", "free_units")
    if free != round_units_down(free):
        raise ValidationError("Free units are in steps of 0.1.", field="free_units")
    for value, column, label, field in ((rule.fixed, Account.recovery_fixed, "The fixed recovery", "recovery_fixed"),
                                        (rule.min_energy, Account.recovery_min_energy, "The minimum", "recovery_min_energy"),
                                        (free, Account.free_units, "Free units", "free_units")):
        fits_column(value, column, label, field)
    with ctx.db.session() as session:
        live_rights.require_live(session, actor, "basedata.accounts.edit")
        account = _account(session, account_number)
        lock_account_meter(session, account.id)
        values = dict(recovery_percent=rule.percent, recovery_fixed=rule.fixed,
                      recovery_month_limit=rule.month_limit, recovery_min_energy=rule.min_energy, free_units=free)
        session.execute(update(Account).where(Account.id == account.id).values(**values))
        audit.record(session, actor, "account.revenue_terms", entity="account", entity_id=account.account_number,
                     summary=f"recovery {percent}% + {rule.fixed}, limit {rule.month_limit}, free units {free} "
                             f"for account {account.account_number}", detail=values)


def pay_debt(ctx: AppContext, actor: Actor, meter_number: str, amount: object, *, request_id: str,
             payment_password: str | None = None, payment_type: str = "cash"):
    """A payment of debt only: a receipt, no token. Idempotent by request id (a retry gets the same receipt)."""
    from stron_tui.services import auth, vending
    from stron_tui.domain.receipt import Receipt

    actor.require("topup.vend")
    vending.check_request_id(request_id, "debt payment")
    value = parse_decimal(amount, "amount", "amount")
    fits_column(value, DebtEntry.amount, "The amount", "amount")
    number = valid_meter_number(meter_number, field="meter")
    if actor.api_account_id is None:
        auth.confirm_payment(ctx, actor, payment_password or "")
    marker = f"payment {request_id}"
    with ctx.db.session() as session:
        facts = vending.load_sale_facts(session, number, actor, lock=True, selling_station_id=actor.station_id,
                                        payment_type=payment_type)
        vending.check_actor_still_allowed(actor, facts, "topup.vend")
        if facts.account_id is None:
            raise ValidationError(f"Meter {number} has no open account.", field="meter")
        if facts.station_id is None:
            raise ValidationError("Your sales station is no longer in the Sales Station Library.", field="meter")
        who = (DebtEntry.api_account_id == actor.api_account_id) if actor.api_account_id is not None else (
            DebtEntry.user_id == actor.user_id)
        earlier = session.scalar(select(DebtEntry).where(DebtEntry.account_id == facts.account_id,
                                                         DebtEntry.reason == marker, who))
        account = session.get(Account, facts.account_id)
        places = facts.tariff.currency_minor_unit
        if value != value.quantize(Decimal(1).scaleb(-places)):
            raise ValidationError(f"{facts.tariff.currency} amounts have {places} decimal places.", field="amount")
        if earlier is None:
            if value > account.debt_balance:
                raise ValidationError(f"Account {facts.account_number} owes {account.debt_balance:.{places}f} "
                                      f"{facts.tariff.currency}; take no more than that as a debt payment.",
                                      field="amount")
            now = utcnow()
            after = account.debt_balance - value
            earlier = DebtEntry(account_id=account.id, created_at=now, business_date=local_date(now, ctx.settings.zone),
                                kind="paid", amount=-value, balance_after=after, reason=marker, user_id=actor.user_id,
                                api_account_id=actor.api_account_id, station_id=facts.station_id,
                                district_id=facts.district_id)
            session.add(earlier)
            session.flush()
            earlier.receipt_number = f"{facts.station_code}-D{earlier.id:07d}"[:24]
            session.execute(update(Account).where(Account.id == account.id).values(debt_balance=after))
            audit.record(session, actor, "debt.paid", entity="account", entity_id=facts.account_number,
                         summary=f"debt payment {value} {facts.tariff.currency} on account {facts.account_number}; "
                                 f"still owed {after}", detail={"receipt": earlier.receipt_number, "amount": value})
        paid = -earlier.amount
        shown = earlier.created_at.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M")
        return Receipt(
            kind="debt_payment", title="DEBT PAYMENT", utility_name=ctx.settings.utility_name,
            station_code=facts.station_code, station_name=facts.station_name, receipt_number=earlier.receipt_number,
            transaction_number=earlier.receipt_number, issued_at=earlier.created_at, local_time=shown,
            operator=vending.actor_label(actor), customer_code=facts.customer_code, customer_name=facts.customer_name,
            account_number=facts.account_number, meter_number=facts.meter_number, token="",
            currency=facts.tariff.currency, gross=paid.quantize(Decimal(1).scaleb(-places)),
            payment_type=facts.payment_name or payment_type,
            detail=f"Debt paid {paid:.{places}f}; still owed {earlier.balance_after:.{places}f} {facts.tariff.currency}",
            debt_recovered=paid, debt_after=earlier.balance_after, receipt_width=facts.receipt_width or 40)


@dataclass(frozen=True)
class DebtPaymentPreview:
    account_number: str
    currency: str
    owed: Decimal
    paid: Decimal
    still_owed: Decimal
    quote_id: str = ""  # the Top-up screen binds sales to a quote id; a debt payment has none


def preview_payment(ctx: AppContext, actor: Actor, meter_number: str, amount: object) -> DebtPaymentPreview:
    """What a debt-only payment of `amount` would leave owed; nothing is recorded."""
    from stron_tui.services import vending

    actor.require("topup.vend")
    value = parse_decimal(amount, "amount", "amount")
    number = valid_meter_number(meter_number, field="meter")
    with ctx.db.read_session() as session:
        facts = vending.load_sale_facts(session, number, actor, lock=False)
        vending.check_actor_still_allowed(actor, facts, "topup.vend")
        if facts.account_id is None:
            raise ValidationError(f"Meter {number} has no open account.", field="meter")
        owed = session.scalar(select(Account.debt_balance).where(Account.id == facts.account_id))
        places = facts.tariff.currency_minor_unit
        owed = owed.quantize(Decimal(1).scaleb(-places))
        if value != value.quantize(Decimal(1).scaleb(-places)):
            raise ValidationError(f"{facts.tariff.currency} amounts have {places} decimal places.", field="amount")
        if value > owed:
            raise ValidationError(f"Account {facts.account_number} owes {owed} {facts.tariff.currency}; take no more "
                                  "than that as a debt payment.", field="amount")
        return DebtPaymentPreview(facts.account_number, facts.tariff.currency, owed, value, owed - value)
