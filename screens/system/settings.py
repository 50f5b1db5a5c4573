"""Currencies and Payment Types: currencies, exchange rates with an effective time, payment types."""

from __future__ import annotations

from typing import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import ContentSwitcher, DataTable, Input, Select, Static

from screens.base import StronScreen
from screens.calls import call_service
from widgets.confirm import ConfirmScreen
from stron_tui.errors import StronError
from stron_tui.domain.clock import local_text
from widgets.cells import plain_cells
from widgets.fields import LabeledField, TextInput
from widgets.picker import Picker

SECTIONS = ("currencies", "rates", "payment-types")


def money_settings_lists(ctx, actor, rates_after):
    """The currencies, a page of exchange rates and the payment types, read together."""
    from stron_tui.services import money_settings as money

    return (money.list_currencies(ctx, actor), money.list_rates(ctx, actor, after=rates_after),
            money.list_payment_types(ctx, actor))


class MoneySettingsScreen(StronScreen):
    MESSAGE_ID = "settings-message"
    TITLE_TEXT = "Currencies and Payment Types"
    CSS_PATH = "system.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("1", "section('currencies')", "Currency", id="settings.section-currencies"),
        Binding("2", "section('rates')", "Rates", id="settings.section-rates"),
        Binding("3", "section('payment-types')", "Pay types", id="settings.section-payment-types"),
        Binding("n", "new", "New", id="settings.new"),
        Binding("e", "edit", "Edit", id="settings.edit"),
        Binding("delete", "withdraw", "Withdraw rate", show=False, id="settings.withdraw"),
        Binding("right_square_bracket", "page(1)", "Older rates", show=False, id="settings.page-next"),
        Binding("left_square_bracket", "page(-1)", "Newer rates", show=False, id="settings.page-previous"),
    ]

    def __init__(self):
        super().__init__()
        self._data: dict[str, list] = {name: [] for name in SECTIONS}
        self._rate_keys: list = [None]
        self._next_rate_key = None
        self.section = "currencies"

    def compose_body(self) -> ComposeResult:
        yield Static("", id="settings-section", classes="hint", markup=False)
        with ContentSwitcher(initial="currencies", id="settings-switcher"):
            currencies = DataTable(id="currencies", cursor_type="row", zebra_stripes=False, classes="settings-table")
            currencies.add_columns("Code", "Name", "Symbol", "Decimals", "Active")
            yield currencies
            rates = DataTable(id="rates", cursor_type="row", zebra_stripes=False, classes="settings-table")
            rates.add_columns("From", "To", "Rate (1 From = Rate To)", "Effective", "State", "Entered by")
            yield rates
            types = DataTable(id="payment-types", cursor_type="row", zebra_stripes=False, classes="settings-table")
            types.add_columns("Code", "Name", "Position", "Active")
            yield types
        yield Static("", id="settings-message", classes="warning", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.action_section("currencies")
        self._load_all()

    # Loading ---------------------------------------------------------------

    def _load_all(self) -> None:
        call_service(self, money_settings_lists, self._rate_keys[-1], group="settings-load",
                     on_success=lambda lists: self._show(*lists))

    def _show(self, currencies, rates, types) -> None:
        zone = self.app.ctx.settings.zone
        self._data = {"currencies": currencies, "rates": list(rates.rows), "payment-types": types}
        self._next_rate_key = rates.next_key
        table = self.query_one("#currencies", DataTable)
        table.clear()
        for c in currencies:
            table.add_row(*plain_cells(c.code, c.name, c.symbol, str(c.minor_unit), "yes" if c.active else "no"))
        table = self.query_one("#rates", DataTable)
        table.clear()
        for r in rates.rows:
            state = "in effect" if r.in_effect else ("pending" if r.pending else "replaced")
            table.add_row(*plain_cells(r.from_currency, r.to_currency, f"{r.rate.normalize():f}",
                                      local_text(r.effective_at, zone), state, r.entered_by))
        table = self.query_one("#payment-types", DataTable)
        table.clear()
        for p in types:
            table.add_row(*plain_cells(p.code, p.name, str(p.sort_order), "yes" if p.active else "no"))
        self._describe()

    def _describe(self) -> None:
        words = {
            "currencies": "1 Currencies: N adds, E or Enter edits (decimals: 2 for cents, 0 for none).",
            "rates": "2 Exchange rates, newest first: N adds a rate from now or a later time; Del withdraws a "
                     "pending one; ] and [ page.",
            "payment-types": "3 Payment types: N adds, E or Enter edits; lower positions are listed first.",
        }
        self.query_one("#settings-section", Static).update(words[self.section])


    def action_section(self, name: str) -> None:
        self.section = name
        self.query_one("#settings-switcher", ContentSwitcher).current = name
        self.query_one(f"#{name}", DataTable).focus()
        self._describe()

    def action_page(self, step: int) -> None:
        if self.section != "rates":
            return
        if step > 0 and self._next_rate_key is not None:
            self._rate_keys.append(self._next_rate_key)
        elif step < 0 and len(self._rate_keys) > 1:
            self._rate_keys.pop()
        else:
            return
        self._load_all()

    def _current(self):
        rows = self._data[self.section]
        table = self.query_one(f"#{self.section}", DataTable)
        if not rows or table.cursor_row is None or table.cursor_row >= len(rows):
            return None
        return rows[table.cursor_row]

    # Changes ---------------------------------------------------------------

    def action_new(self) -> None:
        self._open_form(None)

    @on(DataTable.RowSelected)
    def action_edit(self) -> None:
        if self.section == "rates":
            self.say("Rates are history: add a new rate (N) instead of changing one.")
            return
        current = self._current()
        if current is not None:
            self._open_form(current)

    def _open_form(self, current) -> None:
        from stron_tui.services import money_settings as money

        ctx = self.app.ctx
        if self.section == "currencies":
            fields = [("code", "Code (3 letters, ISO 4217)", current.code if current else "", current is not None),
                      ("name", "Name", current.name if current else "", False),
                      ("symbol", "Symbol", current.symbol if current else "", False),
                      ("minor_unit", "Decimal places (0 to 4)", str(current.minor_unit) if current else "2", False)]
            form = FieldsFormScreen("Edit currency" if current else "New currency", fields,
                                    lambda actor, v: money.save_currency(ctx, actor, **v),
                                    active=current.active if current else True)
        elif self.section == "payment-types":
            fields = [("code", "Code (e.g. cash)", current.code if current else "", current is not None),
                      ("name", "Name", current.name if current else "", False),
                      ("sort_order", "Position in lists", str(current.sort_order) if current else "0", False)]
            form = FieldsFormScreen("Edit payment type" if current else "New payment type", fields,
                                    lambda actor, v: money.save_payment_type(ctx, actor, **v),
                                    active=current.active if current else True)
        else:
            fields = [("from_currency", "From currency (what the customer pays)", "", False),
                      ("to_currency", f"To currency (the tariff's, e.g. {ctx.settings.currency})",
                       ctx.settings.currency, False),
                      ("rate", "Rate: 1 From = how many To", "", False),
                      ("effective_at", "Takes effect at YYYY-MM-DD HH:MM (empty: now)", "", False)]

            def save_rate(actor, values):
                values["effective_at"] = money.parse_local_time(ctx, values["effective_at"])
                return money.add_rate(ctx, actor, **values)

            form = FieldsFormScreen("New exchange rate", fields, save_rate,
                                    note="Past sales keep the rate they used; a rate can't be back-dated.")
        self.app.push_screen(form, self._saved)

    def _saved(self, result) -> None:
        if result is not None:
            self.say("Saved.")
            self._load_all()

    def action_withdraw(self) -> None:
        if self.section != "rates":
            return
        rate = self._current()
        if rate is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._withdraw(rate.id)

        self.app.push_screen(ConfirmScreen("Withdraw rate", f"Withdraw the pending rate 1 {rate.from_currency} = "
                                           f"{rate.rate.normalize():f} {rate.to_currency}?"), answered)

    def _withdraw(self, rate_id: int) -> None:
        from stron_tui.services import money_settings as money

        call_service(self, money.withdraw_rate, rate_id, group="settings-change",
                     on_success=lambda _: self._saved(True))


class FieldsFormScreen(StronScreen):
    """A short form of text fields (and an optional Active choice); Ctrl+S saves through `save`."""

    CSS_PATH = "system.tcss"
    MESSAGE_ID = "form-message"
    BINDINGS = [
        Binding("escape", "cancel", "Back", id="back"),
        Binding("ctrl+s", "save", "Save", id="settings.save"),
    ]

    def __init__(self, title: str, fields: list[tuple[str, str, str, bool]],
                 save: Callable[[object, dict], object], *, active: bool | None = None, note: str = ""):
        super().__init__()
        self._title = title
        self._fields = fields
        self._save_with = save
        self._active = active
        self._note = note

    def compose_body(self) -> ComposeResult:
        yield Static(self._title, classes="screen-title", markup=False)
        with Vertical(classes="form system-form"):
            for name, label, value, disabled in self._fields:
                yield LabeledField(label, TextInput(value, id=name, disabled=disabled), id=f"field-{name}")
            if self._active is not None:
                yield LabeledField("Active (offered to cashiers)",
                                   Picker([("yes", True), ("no", False)], value=self._active, allow_blank=False,
                                          id="active", compact=True), id="field-active")
            if self._note:
                yield Static(self._note, classes="hint", markup=False)
            yield Static("Enter moves on; Ctrl+S saves; Esc goes back without saving.", classes="hint",
                         markup=False)
            yield Static("", id="form-message", classes="warning", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        for name, _label, _value, disabled in self._fields:
            if not disabled:
                self.query_one(f"#{name}", Input).focus()
                break

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        if event.input.id == self._fields[-1][0] and self._active is None:
            self.action_save()
        else:
            self.focus_next()

    def action_cancel(self) -> None:
        self.leave_asking(lambda: self.dismiss(None))

    def action_save(self) -> None:
        for name, *_rest in self._fields:
            self.query_one(f"#field-{name}", LabeledField).show_error(None)
        values = {name: self.query_one(f"#{name}", Input).value for name, *_rest in self._fields}
        if self._active is not None:
            values["active"] = bool(self.query_one("#active", Select).value)
        call_service(self, self._save_with, self.app.actor, values, with_actor=False, busy="Saving...",
                     group="fields-save", on_success=self.dismiss, on_error=self._error)

    def _error(self, error: StronError) -> None:
        names = {name for name, *_rest in self._fields}
        if error.field in names:
            self.say("")
            self.query_one(f"#field-{error.field}", LabeledField).show_error(error.message)
        else:
            self.say(error.message)
