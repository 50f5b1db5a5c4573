"""Price Library: tariffs. Vends keep their own copy of the price, so edits never rewrite history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from decimal import Decimal

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.orm import Session

from stron_tui.db.models import Account, Currency, Tariff, TariffBlock, TariffVersion, Vend
from stron_tui.services import audit, live_rights
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.db.queries import contains_match, for_update, prefix_match
from stron_tui.errors import Conflict, NotFound, ValidationError
from stron_tui.services.libraries import Field, Library, ListColumn, SearchPlan, register
from stron_tui.services.pricing import Block, fits_column, parse_decimal, round_money, validate_blocks
from stron_tui.domain.text import fold

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
        Field("fixed_charge_vat", "VAT on fixed charge", kind="bool", default=False, width=8),
        Field("charge_accrue_months", "Charge accrues months", kind="int", default=0, width=8,
              note="unpaid months of fixed charge kept due; 0: an unpaid month lapses"),
        Field("cap_units_day", "Cap units/day", kind="decimal", note="blank: no cap", width=10),
        Field("cap_units_month", "Cap units/month", kind="decimal", note="blank: no cap", width=10),
        Field("cap_money_day", "Cap money/day", kind="decimal", note="blank: no cap", width=10),
        Field("cap_money_month", "Cap money/month", kind="decimal", note="blank: no cap", width=10),
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
                      Tariff.max_purchase, Tariff.active, Tariff.fixed_charge_vat, Tariff.charge_accrue_months,
                      Tariff.cap_units_day, Tariff.cap_units_month, Tariff.cap_money_day, Tariff.cap_money_month)

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
        months = values["charge_accrue_months"] or 0
        if months < 0 or months > 120:
            raise ValidationError("A fixed charge accrues for 0 to 120 months.", field="charge_accrue_months")
        values["charge_accrue_months"] = months
        for name in ("cap_units_day", "cap_units_month", "cap_money_day", "cap_money_month"):
            cap = values[name]
            if cap is not None and cap <= 0:
                raise ValidationError(f"{self.fields_by_name[name].label} must be more than 0 (blank: no cap).",
                                      field=name)
        for name in ("cap_money_day", "cap_money_month"):
            if values[name] is not None and values[name] < values["min_purchase"]:
                raise ValidationError(f"{self.fields_by_name[name].label} ({values[name]}) is below the minimum "
                                      f"purchase ({values['min_purchase']}): no sale could pass it.", field=name)
        for name in ("cap_units_day", "cap_units_month"):
            if values[name] is not None and values[name] != values[name].quantize(Decimal("0.1")):
                raise ValidationError(f"{self.fields_by_name[name].label} is in steps of 0.1.", field=name)
        if (values["cap_units_day"] and values["cap_units_month"]
                and values["cap_units_day"] > values["cap_units_month"]):
            raise ValidationError("The daily unit cap is above the monthly one.", field="cap_units_day")
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


# ---------------------------------------------------------------- versions and blocks


@dataclass(frozen=True)
class VersionView:
    id: int
    effective_from: datetime  # UTC
    local_from: str
    fixed_charge: Decimal
    blocks: tuple[Block, ...]
    status: str = ""  # "scheduled", "in force" or "past" when listed (versions())


def _parse_local(text: str, zone) -> datetime:
    raw = str(text).strip()
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(raw, pattern).replace(tzinfo=zone).astimezone(timezone.utc)
        except ValueError:
            continue
    raise ValidationError("Enter the effective date as YYYY-MM-DD or YYYY-MM-DD HH:MM (local time).",
                          field="effective_from")


def parse_blocks(rows: list[tuple[object, object]]) -> tuple[Block, ...]:
    """Blocks from typed (upper bound, price) pairs; blank bound: no limit (the last block)."""
    blocks = []
    for number, (bound, price) in enumerate(rows, start=1):
        bound_text = str(bound if bound is not None else "").strip()
        up_to = None if not bound_text else parse_decimal(bound_text, f"block {number}'s upper bound",
                                                          f"blocks.{number}.up_to")
        price_text = str(price if price is not None else "").strip()
        if price_text.startswith("-") or price_text in ("0", "0.0", "0.00"):
            raise ValidationError(f"Block {number}: the price must be more than 0.", field=f"blocks.{number}.price")
        value = parse_decimal(price_text, f"block {number}'s price", f"blocks.{number}.price")
        fits_column(value, TariffBlock.price_per_unit, f"Block {number}'s price", f"blocks.{number}.price")
        blocks.append(Block(up_to, value))
    return validate_blocks(blocks)


def add_version(ctx: AppContext, actor: Actor, tariff_name: str, effective_from: str, fixed_charge: object,
                blocks: list[tuple[object, object]]) -> VersionView:
    """A new version of a tariff from `effective_from` (local time): its blocks and monthly fixed charge.

    Refused when a sale on the tariff was already made at or after that
    moment (it would change sold history) or a version starts at the same moment.
    """
    actor.require("basedata.tariffs.edit")
    with ctx.db.session() as session:
        live_rights.require_live(session, actor, "basedata.tariffs.edit")
        return insert_version(session, ctx, actor, tariff_name, effective_from, fixed_charge, blocks)


def insert_version(session: Session, ctx: AppContext, actor: Actor, tariff_name: str, effective_from: object,
                   fixed_charge: object, blocks: list[tuple[object, object]]) -> VersionView:
    """add_version in the caller's transaction (the Excel import adds many, all or none)."""
    parsed = parse_blocks(blocks)
    charge_text = str(fixed_charge if fixed_charge is not None else "").strip()
    charge = Decimal(0) if charge_text in ("", "0", "0.00") else parse_decimal(charge_text, "fixed charge",
                                                                                 "fixed_charge")
    fits_column(charge, TariffVersion.fixed_charge, "The fixed charge", "fixed_charge")
    starts = _parse_local(effective_from, ctx.settings.zone)
    tariff = session.scalar(select(Tariff).where(Tariff.name_key == fold(str(tariff_name))))
    if tariff is None:
        raise ValidationError(f"There is no tariff named {str(tariff_name)[:100]}.", field="tariff")
    minor = session.scalar(select(Currency.minor_unit).where(Currency.code == tariff.currency_code))
    if charge != round_money(charge, minor if minor is not None else 2):
        raise ValidationError(f"The fixed charge has more decimal places than {tariff.currency_code} has.",
                              field="fixed_charge")
    last_sale = session.scalar(select(func.max(Vend.created_at)).where(Vend.tariff_id == tariff.id))
    if last_sale is not None and starts <= last_sale:
        shown = last_sale.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M")
        raise ValidationError(f"Tariff {tariff.name} was sold at {shown}; a version from before then would "
                              "change sold history. Date it later.", field="effective_from")
    if session.scalar(select(TariffVersion.id).where(TariffVersion.tariff_id == tariff.id,
                                                     TariffVersion.effective_from == starts)):
        raise ValidationError("A version of this tariff already starts at that moment.", field="effective_from")
    now = utcnow()
    version = TariffVersion(tariff_id=tariff.id, effective_from=starts, fixed_charge=charge, created_at=now,
                            created_by=actor.user_id)
    session.add(version)
    session.flush()
    session.add_all(TariffBlock(version_id=version.id, position=number, up_to=block.up_to,
                                price_per_unit=block.price) for number, block in enumerate(parsed, start=1))
    tariff.updated_at = now  # a previewed sale on the tariff is priced again
    local = starts.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M")
    audit.record(session, actor, "tariff.version", entity="tariff", entity_id=tariff.name,
                 summary=f"version of tariff {tariff.name} from {local}: {len(parsed)} block(s), "
                         f"fixed charge {charge}",
                 detail={"from": local, "fixed_charge": charge,
                         "blocks": [[block.up_to, block.price] for block in parsed]})
    return VersionView(version.id, starts, local, charge, parsed)


WITHDRAW_MARGIN = timedelta(minutes=1)  # a version about to take effect may be pricing a sale already


def withdraw_version(ctx: AppContext, actor: Actor, tariff_name: str, version_id: int) -> VersionView:
    """Remove a version that has not taken effect yet (a price typed wrong, caught in time); to change one,
    withdraw it and enter it again. A version in force or past stays: sales were priced with it."""
    actor.require("basedata.tariffs.edit")
    with ctx.db.session() as session:
        live_rights.require_live(session, actor, "basedata.tariffs.edit")
        tariff = session.scalar(for_update(select(Tariff).where(Tariff.name_key == fold(str(tariff_name))), Tariff))
        if tariff is None:
            raise NotFound(f"There is no tariff named {str(tariff_name)[:100]}.")
        version = session.scalar(select(TariffVersion).where(TariffVersion.id == version_id,
                                                             TariffVersion.tariff_id == tariff.id))
        if version is None:
            raise NotFound(f"That version of tariff {tariff.name} no longer exists.")
        starts = version.effective_from if version.effective_from.tzinfo else version.effective_from.replace(
            tzinfo=timezone.utc)
        local = starts.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M")
        now = utcnow()
        if starts <= now + WITHDRAW_MARGIN or session.scalar(
                select(Vend.id).where(Vend.tariff_version_id == version.id).limit(1)) is not None:
            raise Conflict(f"The version from {local} is in force (or takes effect within a minute) and stays in "
                           "the history; enter a new version dated ahead instead.")
        blocks = tuple(Block(b.up_to, b.price_per_unit) for b in session.scalars(
            select(TariffBlock).where(TariffBlock.version_id == version.id).order_by(TariffBlock.position)))
        session.execute(delete(TariffBlock).where(TariffBlock.version_id == version.id))
        session.execute(delete(TariffVersion).where(TariffVersion.id == version.id))
        tariff.updated_at = now  # a previewed sale on the tariff is priced again
        audit.record(session, actor, "tariff.version_withdraw", entity="tariff", entity_id=tariff.name,
                     summary=f"withdrew the version of tariff {tariff.name} from {local} (not yet in force)",
                     detail={"from": local, "fixed_charge": version.fixed_charge,
                             "blocks": [[block.up_to, block.price] for block in blocks]})
        return VersionView(version_id, starts, local, version.fixed_charge, blocks, "withdrawn")


VERSION_COLUMNS = ("Tariff", "Effective from", "Fixed charge", "Block", "Up to", "Price per unit")


def export_versions(ctx: AppContext, actor: Actor) -> Path:
    """Every tariff version with its blocks, one row per block, as an .xlsx (the import reads it back)."""
    from stron_tui.exports.files import export_path
    from stron_tui.exports.tables import Column, write_xlsx

    actor.require("basedata.export")
    target = export_path(ctx.settings, "tariff-versions", "xlsx", user_id=actor.user_id)
    zone = ctx.settings.zone
    with ctx.db.read_session() as session:
        rows = session.execute(
            select(Tariff.name, TariffVersion.effective_from, TariffVersion.fixed_charge, TariffBlock.position,
                   TariffBlock.up_to, TariffBlock.price_per_unit)
            .join(TariffVersion, TariffVersion.tariff_id == Tariff.id)
            .join(TariffBlock, TariffBlock.version_id == TariffVersion.id)
            .order_by(Tariff.name_key, TariffVersion.effective_from, TariffBlock.position))
        write_xlsx(target, [Column(title, 18) for title in VERSION_COLUMNS],
                   ((name, starts.astimezone(zone).strftime("%Y-%m-%d %H:%M"), f"{charge.normalize():f}", position,
                     "" if up_to is None else f"{up_to.normalize():f}", f"{price.normalize():f}")
                    for name, starts, charge, position, up_to, price in rows), sheet="Tariff versions")
    with ctx.db.session() as session:
        audit.record(session, actor, "tariffs.versions_export", entity="tariff", summary=f"exported {target.name}")
    return target


def import_versions(ctx: AppContext, actor: Actor, path) -> "object":
    """Tariff versions from an .xlsx (as export_versions writes it): all in one transaction, or none with
    a per-row error list. Rows of one version share tariff and effective-from; blocks in Block order."""
    from types import SimpleNamespace

    from stron_tui.services import excel_io
    from stron_tui.services.libraries import Field as LibraryField

    actor.require("basedata.import")
    actor.require("basedata.tariffs.edit")
    path = excel_io.import_source(ctx, actor, path)
    names = ("tariff", "effective_from", "fixed_charge", "block", "up_to", "price")
    sheet = SimpleNamespace(title="Tariff versions", fields=tuple(
        LibraryField(name, title, required=name not in ("up_to", "fixed_charge"))
        for name, title in zip(names, VERSION_COLUMNS)))
    total, rows = excel_io.read_rows(path, sheet)
    grouped: dict[tuple[str, str], list[tuple[int, dict]]] = {}
    for number, values in rows:
        key = (fold(str(values["tariff"] or "")), str(values["effective_from"] or ""))
        grouped.setdefault(key, []).append((number, values))
    errors: list = []
    with ctx.db.session() as session:
        live_rights.require_live(session, actor, "basedata.tariffs.edit")
        for (_, starts), lines in grouped.items():
            lines.sort(key=lambda line: int(line[1]["block"] or 0) if str(line[1]["block"]).isdigit() else 0)
            first_row, first = lines[0]
            try:
                with session.begin_nested():
                    insert_version(session, ctx, actor, first["tariff"], starts, first.get("fixed_charge"),
                                   [(values.get("up_to"), values["price"]) for _, values in lines])
            except ValidationError as error:
                field = error.field or ""
                row = first_row
                if field.startswith("blocks."):
                    index = int(field.split(".")[1]) - 1
                    row = lines[index][0] if index < len(lines) else first_row
                column = {"tariff": "Tariff", "effective_from": "Effective from", "fixed_charge": "Fixed charge"}.get(
                    field, "Up to" if field.endswith("up_to") else "Price per unit" if field.endswith("price")
                    else "Block")
                errors.append(excel_io.RowError(row, column, str(error)))
        if errors:
            session.rollback()
            return excel_io.ImportReport("tariff-versions", str(path), total, errors=tuple(errors[:1000]))
    return excel_io.ImportReport("tariff-versions", str(path), total, created=len(grouped))


def versions(ctx: AppContext, actor: Actor, tariff_name: str) -> list[VersionView]:
    """A tariff's versions, newest first, each marked scheduled, in force (the one sales use now) or past."""
    actor.require("basedata.view")
    with ctx.db.read_session() as session:
        tariff = session.scalar(select(Tariff).where(Tariff.name_key == fold(tariff_name)))
        if tariff is None:
            raise ValidationError(f"There is no tariff named {tariff_name[:100]}.", field="tariff")
        rows = session.scalars(select(TariffVersion).where(TariffVersion.tariff_id == tariff.id)
                               .order_by(TariffVersion.effective_from.desc()).limit(100)).all()
        out = []
        now = utcnow()
        in_force_seen = False
        for row in rows:
            blocks = tuple(Block(b.up_to, b.price_per_unit) for b in session.scalars(
                select(TariffBlock).where(TariffBlock.version_id == row.id).order_by(TariffBlock.position)))
            starts = row.effective_from if row.effective_from.tzinfo else row.effective_from.replace(
                tzinfo=timezone.utc)
            if starts > now:
                status = "scheduled"
            else:
                status = "past" if in_force_seen else "in force"
                in_force_seen = True
            out.append(VersionView(row.id, row.effective_from,
                                   row.effective_from.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M"),
                                   row.fixed_charge, blocks, status))
        return out


def blocks_text(blocks: tuple[Block, ...]) -> str:
    """"0-50 at 0.1, 50-200 at 0.2, over 200 at 0.3": a version's blocks on one line."""
    parts, lower = [], Decimal(0)
    for block in blocks:
        price = f"{block.price.normalize():f}"
        if block.up_to is None:
            parts.append(f"over {lower.normalize():f} at {price}" if lower else f"all at {price}")
        else:
            parts.append(f"{lower.normalize():f}-{block.up_to.normalize():f} at {price}")
            lower = block.up_to
    return ", ".join(parts)
