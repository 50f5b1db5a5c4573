"""Cash control screens: the cashier's shift (open, count, close), sign-off of shifts, reversal of a sale.

Keyboard only, 80x24: type, Enter moves on; the last Enter of a form does the
work in a worker and the result replaces the form's right-hand panel.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Checkbox, Input, Static

from screens.base import StronScreen
from screens.calls import call_service, show_failure
from stron_tui.errors import StronError
from stron_tui.domain.text import printable
from widgets.fields import LabeledField, TextInput


def _money(value) -> str:
    return "" if value is None else f"{value:,.2f}"


def shift_lines_text(view) -> str:
    """A shift's lines, one block per payment type and currency (float, expected, declared, over/short),
    28 columns wide: a six-column table wrapped in the right-hand pane at 80x24, each row over two lines."""
    rows = []
    for line in view.lines:
        rows.append(f"{line.payment_type} {line.currency}")
        for label, value in (("Float", line.opening_float), ("Expected", line.expected),
                             ("Declared", line.declared), ("Over/short", line.over_short)):
            rows.append(f"  {label:<11}{_money(value) or '-':>15}")
    if not view.lines:
        rows.append("(nothing to count)")
    return "\n".join(rows)


def shift_heading(view, zone) -> str:
    opened = view.opened_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    text = f"Shift {view.number} of {view.user_code} at {view.station_code}, opened {opened}: {view.status.upper()}"
    if view.long_open:
        text += "  ** OPEN TOO LONG **"
    if view.signed_off_by:
        text += f"\nSigned off by {view.signed_off_by}" + (f": {view.note}" if view.note else "")
    return text


def open_with_floats(ctx, actor, floats_text: str, currency: str):
    """Open the operator's shift with the opening float as typed ("50" or "USD 50, EUR 20")."""
    from stron_tui.services import shifts

    return shifts.open_shift(ctx, actor, shifts.parse_floats(floats_text, currency))


def shifts_to_sign_off_text(ctx, actor) -> str:
    """The shifts waiting for a supervisor, and those open too long, as short lines."""
    from stron_tui.services import shifts

    waiting = shifts.list_shifts(ctx, actor, status="closed", limit=8)
    still_open = [s for s in shifts.list_shifts(ctx, actor, status="open", limit=50) if s.long_open]
    rows = ["Waiting for sign-off:"] + [f"  {s.number} {s.user_code:<12} {s.station_code}" for s in waiting]
    if not waiting:
        rows.append("  none")
    if still_open:
        rows += ["Open too long:"] + [f"  {s.number} {s.user_code:<12} {s.station_code}" for s in still_open]
    return "\n".join(rows)


class ShiftScreen(StronScreen):
    """The cashier's own shift: open it with a float, then count the drawer and close it."""

    ASKS_BEFORE_DROPPING = True  # Esc asks before it drops a float or a count typed

    CSS_PATH = "topup.tcss"
    TITLE_TEXT = "My Shift"
    MESSAGE_ID = "topup-message"
    BINDINGS = [Binding("escape", "back", "Back", id="back"), Binding("f5", "reload", "Refresh", id="shift.reload")]

    def __init__(self):
        super().__init__()
        self.shift = None
        self._lines: list[tuple[str, str]] = []

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="topup-main"):
            with VerticalScroll(id="shift-form"):
                yield LabeledField("Opening float (e.g. 50 or USD 50, EUR 20)",
                                   TextInput(id="floats", max_length=120), id="field-floats")
            with VerticalScroll(id="topup-right"):
                yield Static("", id="shift-state", markup=False)
        yield Static("", id="topup-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#topup-right").can_focus = False
        self.action_reload()

    def action_reload(self) -> None:
        from stron_tui.services import shifts

        call_service(self, shifts.current_shift, on_success=self._show, group="shift")

    def _show(self, view) -> None:
        self.shift = view
        form = self.query_one("#shift-form")
        for field in list(form.query(".declare")):
            field.remove()
        floats = self.query_one("#field-floats")
        floats.display = view is None
        if view is None:
            self.query_one("#shift-state", Static).update(
                "No open shift. Type the opening float and press Enter to open one.")
            self.query_one("#floats", Input).focus()
            return
        zone = self.app.ctx.settings.zone
        self.query_one("#shift-state", Static).update(
            printable(shift_heading(view, zone) + "\n\n" + shift_lines_text(view), keep_newlines=True))
        self._lines = [(line.payment_type, line.currency) for line in view.lines] or [("cash", self._currency())]
        fields = [LabeledField(f"Counted {payment} {currency}", TextInput(id=f"declare-{n}", max_length=20),
                               id=f"field-declare-{n}")
                  for n, (payment, currency) in enumerate(self._lines)]
        for field in fields:
            field.add_class("declare")
        form.mount_all(fields)
        self.call_after_refresh(lambda: self.query_one("#declare-0", Input).focus())
        self.say("Count the drawer: type each amount, Enter moves on; Enter on the last closes the shift.")

    def _currency(self) -> str:
        return self.app.ctx.settings.currency

    @on(Input.Submitted, "#floats")
    def _open(self, event: Input.Submitted) -> None:
        call_service(self, open_with_floats, event.value, self._currency(), on_success=self._opened, group="shift",
                     on_error=lambda error: self.query_one("#field-floats", LabeledField).show_error(error.message))

    def _opened(self, view) -> None:
        self.query_one("#floats", Input).value = ""
        self._show(view)
        self.say(f"Shift {view.number} is open: you can sell now.")

    @on(Input.Submitted, ".declare Input")
    def _next_or_close(self, event: Input.Submitted) -> None:
        number = int(event.input.id.rsplit("-", 1)[1])
        if number + 1 < len(self._lines):
            self.query_one(f"#declare-{number + 1}", Input).focus()
            return
        declared = {line: self.query_one(f"#declare-{n}", Input).value for n, line in enumerate(self._lines)}
        from stron_tui.services import shifts

        call_service(self, shifts.close_shift, declared, on_success=self._shift_closed, on_error=self._count_refused,
                     group="shift")

    def _count_refused(self, error: StronError) -> None:
        field = getattr(error, "field", None) or ""
        if ":" in field:
            payment, currency = field.split(":", 1)
            if (payment, currency) in self._lines:
                n = self._lines.index((payment, currency))
                self.query_one(f"#field-declare-{n}", LabeledField).show_error(error.message)
                self.query_one(f"#declare-{n}", Input).focus()
        self.say(error.message)

    def _shift_closed(self, view) -> None:
        for field in list(self.query(".declare")):
            field.remove()
        zone = self.app.ctx.settings.zone
        self.query_one("#shift-state", Static).update(
            printable(shift_heading(view, zone) + "\n\n" + shift_lines_text(view), keep_newlines=True))
        short = [line for line in view.lines if line.over_short and line.over_short < 0]
        self.say(f"Shift {view.number} is closed" + (" and SHORT: a supervisor signs it off." if short
                                                     else ": a supervisor signs it off."))


class ShiftSignOffScreen(StronScreen):
    """Supervisors: the shifts waiting for sign-off (and long-open ones); sign one off with a note."""

    ASKS_BEFORE_DROPPING = True  # Esc asks before it drops a note typed

    CSS_PATH = "topup.tcss"
    TITLE_TEXT = "Shift Sign-off"
    MESSAGE_ID = "topup-message"
    BINDINGS = [Binding("escape", "back", "Back", id="back"),
                Binding("f5", "reload", "Refresh", id="shift-sign-off.reload"),
                Binding("f7", "export('xlsx')", "Excel", id="shift-sign-off.export-xlsx"),
                Binding("f8", "export('pdf')", "PDF", id="shift-sign-off.export-pdf")]

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="topup-main"):
            with Vertical(id="topup-left"):
                yield LabeledField("Shift number", TextInput(id="shift", max_length=12), id="field-shift")
                yield LabeledField("Note", TextInput(id="note", max_length=400), id="field-note")
                yield LabeledField("Payment password (Enter signs)", TextInput(id="pin", password=True,
                                                                                max_length=200), id="field-pin")
            with VerticalScroll(id="topup-right"):
                yield Static("", id="shift-state", markup=False)
        yield Static("", id="topup-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#topup-right").can_focus = False
        self.query_one("#shift", Input).focus()
        self.action_reload()

    def action_reload(self) -> None:
        call_service(self, shifts_to_sign_off_text, on_success=self._state, group="list")

    def _state(self, text: str) -> None:
        self.query_one("#shift-state", Static).update(printable(text, keep_newlines=True))

    @on(Input.Submitted, "#shift")
    def _show_shift(self, event: Input.Submitted) -> None:
        from stron_tui.services import shifts

        call_service(self, shifts.get_shift, event.value, on_success=self._loaded, group="shift",
                     on_error=lambda error: self.query_one("#field-shift", LabeledField).show_error(error.message))

    def _loaded(self, view) -> None:
        self._shown_number = view.number
        self._state(shift_heading(view, self.app.ctx.settings.zone) + "\n\n" + shift_lines_text(view))
        self.query_one("#note", Input).focus()

    @on(Input.Submitted, "#note")
    def _to_pin(self) -> None:
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    def _sign(self, event: Input.Submitted) -> None:
        from stron_tui.services import shifts

        call_service(self, shifts.sign_off, self.query_one("#shift", Input).value, payment_password=event.value,
                     note=self.query_one("#note", Input).value, on_success=self._signed, on_error=self._failed,
                     group="sign")

    def _failed(self, error: StronError) -> None:
        self.query_one("#pin", Input).value = ""
        self.say(error.message)

    _shown_number = ""  # the shift on the right, once one is shown (the field is emptied after a sign-off)

    def action_export(self, kind: str) -> None:
        """The shift report of the shift typed, else of the one shown (every sale, reversal, management token
        and reprint)."""
        from stron_tui.services import shifts

        number = self.query_one("#shift", Input).value.strip() or self._shown_number
        call_service(self, shifts.export_shift_report, number, kind, group="export",
                     busy="Exporting...", on_success=lambda path: self.say("Saved " + self.app.where_saved([path])))

    def _signed(self, view) -> None:
        self._shown_number = view.number
        self._state(shift_heading(view, self.app.ctx.settings.zone) + "\n\n" + shift_lines_text(view))
        for selector in ("#shift", "#note", "#pin"):
            self.query_one(selector, Input).value = ""
        self.query_one("#shift", Input).focus()
        self.say(f"Shift {view.number} is signed off.")


class ReversalScreen(StronScreen):
    """Reverse a sale: find it, read what it was, give a reason, say if the token is unused, confirm."""

    ASKS_BEFORE_DROPPING = True  # Esc asks before it drops a reason typed

    CSS_PATH = "topup.tcss"
    TITLE_TEXT = "Reverse a Sale"
    MESSAGE_ID = "topup-message"
    BINDINGS = [Binding("escape", "back", "Back", id="back"), Binding("f9", "new", "New reversal", id="reversal.new")]

    def __init__(self):
        super().__init__()
        self.request_id = ""
        self.sale = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="topup-main"):
            with Vertical(id="topup-left"):
                yield LabeledField("Receipt or transaction number", TextInput(id="number", max_length=24),
                                   id="field-number")
                yield LabeledField("Reason", TextInput(id="reason", max_length=200), id="field-reason")
                yield Checkbox("Token unused (customer says)", id="unused")  # fits the 38-column pane
                yield LabeledField("Payment password (Enter reverses)", TextInput(id="pin", password=True,
                                                                                   max_length=200), id="field-pin")
            with VerticalScroll(id="topup-right"):
                yield Static("Type the sale's number and press Enter.", id="sale", markup=False)
        yield Static("", id="topup-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#topup-right").can_focus = False
        self.query_one("#number", Input).focus()

    @on(Input.Submitted, "#number")
    def _find(self, event: Input.Submitted) -> None:
        from stron_tui.services import reversals

        call_service(self, reversals.preview, event.value, on_success=self._found, on_error=self._not_found,
                     group="find")

    def _not_found(self, error: StronError) -> None:
        self.sale = None
        self.query_one("#field-number", LabeledField).show_error(error.message)

    def _found(self, sale) -> None:
        from stron_tui.services import reversals
        from stron_tui.services.vending import new_request_id

        self.sale = sale
        self.request_id = new_request_id()  # one per reversal: a retry after a dropped link reuses it
        zone = self.app.ctx.settings.zone
        self.query_one("#sale", Static).update(printable("\n".join([
            f"Sale {sale.receipt_number} ({sale.transaction_number})",
            f"Sold {sale.created_at.astimezone(zone).strftime('%Y-%m-%d %H:%M')} to meter {sale.meter_number}",
            f"Paid {sale.paid_amount:,.2f} {sale.paid_currency} ({sale.payment_type}) for {sale.units} {sale.unit}",
            "",
            "! " + reversals.TOKEN_STAYS,
            "The reversal is recorded; the sale stays, marked reversed.",
        ]), keep_newlines=True))
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def _to_unused(self) -> None:
        self.query_one("#unused", Checkbox).focus()

    @on(Input.Submitted, "#pin")
    def _confirm(self, event: Input.Submitted) -> None:
        if self.sale is None:
            self.query_one("#field-number", LabeledField).show_error("Find the sale first: type its number, Enter.")
            self.query_one("#number", Input).focus()
            return
        from stron_tui.services import reversals

        call_service(self, reversals.reverse, self.sale.receipt_number, reason=self.query_one("#reason", Input).value,
                     token_declared_unused=self.query_one("#unused", Checkbox).value, request_id=self.request_id,
                     payment_password=event.value, on_success=self._done, on_error=self._failed, group="reverse")

    def _failed(self, error: StronError) -> None:
        self.query_one("#pin", Input).value = ""
        show_failure(self, error, fields={"payment_password": "pin"}, say=True)

    def _done(self, done) -> None:
        from stron_tui.services.reversals import TOKEN_STAYS

        self.query_one("#sale", Static).update(printable("\n".join([
            f"REVERSED: {done.reversal_number}",
            f"Sale {done.receipt_number}, {done.paid_amount:,.2f} {done.paid_currency}, meter {done.meter_number}",
            f"Reason: {done.reason}",
            "Token declared unused" if done.token_declared_unused else "Token may have been entered",
            "",
            "! " + TOKEN_STAYS,
        ]), keep_newlines=True))
        self.sale = None
        self.query_one("#pin", Input).value = ""
        self.say(f"Reversal {done.reversal_number} recorded. F9 starts another.")

    def action_new(self) -> None:
        self.sale, self.request_id = None, ""
        for selector in ("#number", "#reason", "#pin"):
            self.query_one(selector, Input).value = ""
        self.query_one("#unused", Checkbox).value = False
        self.query_one("#sale", Static).update("Type the sale's number and press Enter.")
        self.say("")
        self.query_one("#number", Input).focus()
