"""Vendor Statement: a station's or partner's float over a period; X saves Excel, D saves PDF."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static

from screens.base import StronScreen
from screens.calls import call_service
from stron_tui.domain.text import printable
from widgets.fields import LabeledField, TextInput


def statement_text(statement, zone) -> str:
    lines = [f"{statement.vendor} ({statement.currency})",
             f"{statement.date_from.isoformat()} to {statement.date_to.isoformat()}", "",
             f"Opening              {statement.opening:>12,.2f}",
             f"Deposits/adjustments {statement.deposits:>12,.2f}",
             f"Sales                {statement.sales:>12,.2f}",
             f"Reversals            {statement.reversals:>12,.2f}",
             f"Commission earned    {statement.commission:>12,.2f}",
             f"Closing              {statement.closing:>12,.2f}", ""]
    lines += [f"{line.when.astimezone(zone):%m-%d %H:%M} {line.kind[:10]:<10} {line.amount:>10,.2f} "
              f"{line.balance_after:>10,.2f} {line.reference or line.reason[:14]}" for line in statement.lines[:200]]
    return "\n".join(lines)


class VendorStatementScreen(StronScreen):
    MESSAGE_ID = "topup-message"
    CSS_PATH = "../topup/topup.tcss"
    TITLE_TEXT = "Vendor Statement"
    BINDINGS = [Binding("escape", "back", "Back", id="back"),
                Binding("f7", "export('xlsx')", "Excel", id="vendor-statement.export-xlsx"),
                Binding("f8", "export('pdf')", "PDF", id="vendor-statement.export-pdf")]

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="topup-main"):
            with Vertical(id="topup-left"):
                yield LabeledField("Station ID, or API:name", TextInput(id="vendor", max_length=70),
                                   id="field-vendor")
                yield LabeledField("From (YYYY-MM-DD)", TextInput(id="from", max_length=10), id="field-from")
                yield LabeledField("To (YYYY-MM-DD; Enter shows)", TextInput(id="to", max_length=10), id="field-to")
            with VerticalScroll(id="topup-right"):
                yield Static("", id="statement", markup=False)
        yield Static("", id="topup-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#topup-right").can_focus = False
        self.query_one("#vendor", Input).focus()

    def _arguments(self) -> dict:
        vendor = self.query_one("#vendor", Input).value.strip()
        who = ({"api_account": vendor[4:]} if vendor.lower().startswith("api:") else {"station": vendor})
        return dict(date_from=self.query_one("#from", Input).value, date_to=self.query_one("#to", Input).value, **who)

    @on(Input.Submitted, "#vendor")
    def _to_from(self) -> None:
        self.query_one("#from", Input).focus()

    @on(Input.Submitted, "#from")
    def _to_to(self) -> None:
        self.query_one("#to", Input).focus()

    @on(Input.Submitted, "#to")
    def _show(self) -> None:
        self._load(self._arguments())

    def _load(self, arguments: dict) -> None:
        from stron_tui.services import vendor_floats

        call_service(self, vendor_floats.statement, **arguments, group="statement", on_success=self._shown)

    def _shown(self, statement) -> None:
        text = statement_text(statement, self.app.ctx.settings.zone)
        self.query_one("#statement", Static).update(printable(text, keep_newlines=True))
        self.say("F7 saves it as Excel, F8 as PDF.")

    def action_export(self, kind: str) -> None:
        self._export(kind, self._arguments())

    def _export(self, kind: str, arguments: dict) -> None:
        from stron_tui.services import vendor_floats

        call_service(self, vendor_floats.export_statement, kind, **arguments, group="export",
                     on_success=lambda path: self.say("Saved " + self.app.where_saved([path])))

