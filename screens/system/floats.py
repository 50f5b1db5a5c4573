"""Vendor Floats: put a station or partner on a float, record deposits and adjustments (with a reason).

Keyboard only: type the vendor (a station ID, or API:name) and Enter shows its float; F7 switches between
recording a movement and setting the float up; Enter on the last field records, audited.
"""

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


def float_text(view) -> str:
    return "\n".join([
        f"Float of {view.vendor} ({view.currency})",
        f"Balance       {view.balance:>14,.2f}",
        f"Credit limit  {view.credit_limit:>14,.2f}",
        f"Can still sell{view.available:>14,.2f}",
        f"Commission    {view.commission_rate * 100:>13.3f} %",
    ])


class VendorFloatScreen(StronScreen):
    MESSAGE_ID = "topup-message"
    CSS_PATH = "../topup/topup.tcss"
    TITLE_TEXT = "Vendor Floats"
    BINDINGS = [Binding("escape", "back", "Back", id="back"),
                Binding("f7", "switch", "Deposit/Adjust/Set up", id="floats.switch")]
    MODES = ("deposit", "adjustment", "setup")
    LABELS = {
        "deposit": ("Deposit amount", "Reason (Enter records)"),
        "adjustment": ("Adjustment (+ or -)", "Reason (Enter records)"),
        "setup": ("Currency, credit limit (e.g. USD 500)", "Commission rate (e.g. 0.02; Enter saves)"),
    }

    def __init__(self):
        super().__init__()
        self.mode = "deposit"

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="topup-main"):
            with Vertical(id="topup-left"):
                yield LabeledField("Station ID, or API:name (Enter shows)", TextInput(id="vendor", max_length=70),
                                   id="field-vendor")
                yield LabeledField(self.LABELS["deposit"][0], TextInput(id="amount", max_length=40),
                                   id="field-amount")
                yield LabeledField(self.LABELS["deposit"][1], TextInput(id="reason", max_length=200),
                                   id="field-reason")
            with VerticalScroll(id="topup-right"):
                yield Static("Recording: deposit (F7 switches).", id="float", markup=False)
        yield Static("", id="topup-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#topup-right").can_focus = False
        self.query_one("#vendor", Input).focus()

    def _vendor(self) -> dict:
        vendor = self.query_one("#vendor", Input).value.strip()
        return {"api_account": vendor[4:]} if vendor.lower().startswith("api:") else {"station": vendor}

    def action_switch(self) -> None:
        self.mode = self.MODES[(self.MODES.index(self.mode) + 1) % len(self.MODES)]
        first, second = self.LABELS[self.mode]
        self.query_one("#field-amount").query_one("Label").update(first)
        self.query_one("#field-reason").query_one("Label").update(second)
        self.say(f"Recording: {'float set-up' if self.mode == 'setup' else self.mode}.")

    @on(Input.Submitted, "#vendor")
    def _show(self) -> None:
        self._load(self._vendor())
        self.query_one("#amount", Input).focus()

    @on(Input.Submitted, "#amount")
    def _to_reason(self) -> None:
        self.query_one("#reason", Input).focus()

    def _load(self, vendor: dict) -> None:
        from stron_tui.services import vendor_floats

        call_service(self, vendor_floats.float_of, **vendor, group="float",
                     on_success=self._shown)

    def _shown(self, view) -> None:
        self.query_one("#float", Static).update(printable(float_text(view), keep_newlines=True))

    @on(Input.Submitted, "#reason")
    def _record(self) -> None:
        self._save(self.mode, self._vendor(), self.query_one("#amount", Input).value,
                   self.query_one("#reason", Input).value)

    def _save(self, mode: str, vendor: dict, first: str, second: str) -> None:
        from stron_tui.services import vendor_floats

        if mode == "setup":
            words = first.split()
            currency, limit = (words + ["", "0"])[:2] if words else ("", "0")
            call_service(self, vendor_floats.set_up_float, currency=currency, credit_limit=limit,
                         commission_rate=second or "0", **vendor, group="save", on_success=self._saved)
        else:
            call_service(self, vendor_floats.record_movement, kind=mode, amount=first, reason=second, **vendor,
                         group="save", on_success=self._saved)

    def _saved(self, view) -> None:
        self._shown(view)
        for selector in ("#amount", "#reason"):
            self.query_one(selector, Input).value = ""
        self.query_one("#amount", Input).focus()
        self.say(f"Recorded. Balance {view.balance:,.2f} {view.currency}.")

