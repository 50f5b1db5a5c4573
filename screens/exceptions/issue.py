"""Issue one management token: meter number, the kind's own field, reason, payment password, the receipt.

Enter on the meter number shows the meter's customer, account, tariff and
key data (a meter whose type can't take this token is refused there); Enter
on each field moves to the next; the payment password, last, confirms and
issues, as for a sale.
A request id is made when the operator confirms and kept if the issue fails,
so pressing Enter again can never give the meter two tokens.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static

from screens.base import StronScreen
from screens.calls import call_service, show_failure
from stron_tui.errors import StronError, ValidationError
from stron_tui.services.management_kinds import KINDS
from stron_tui.domain.text import printable
from widgets.fields import LabeledField, TextInput

# Enter on any of these moves on (the last one issues): every kind's own fields, then reason and password.
NEXT_ON_ENTER = ", ".join(f"#{name}" for name in dict.fromkeys(
    [field.name for kind in KINDS.values() for field in kind.fields] + ["reason", "pin"]))


class ManagementTokenScreen(StronScreen):
    ASKS_BEFORE_DROPPING = True  # Esc asks before it drops what was typed
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("f9", "new_token", "New token", id="exception.new-token"),
    ]
    DEFAULT_CSS = """
    ManagementTokenScreen #exc-main { height: 1fr; }
    ManagementTokenScreen #exc-left { width: 40; padding: 0 1; }
    ManagementTokenScreen #exc-right { width: 1fr; padding: 0 1; border-left: vkey $primary; }
    ManagementTokenScreen #exc-message { height: auto; padding: 0 1; text-style: bold; color: $warning; }
    """

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.token_kind = KINDS[kind]
        self.facts = None
        self.request_id = ""
        self.TITLE_TEXT = self.token_kind.title

    # Layout ----------------------------------------------------------------

    def field_names(self) -> list[str]:
        """The inputs in Enter order; the last one issues."""
        return ["meter", *(field.name for field in self.token_kind.fields), "reason", "pin"]

    def compose_body(self) -> ComposeResult:
        labels = {
            "meter": "Meter number (Enter shows the meter)",
            **{field.name: field.label for field in self.token_kind.fields},
            "reason": "Reason (required)" if self.token_kind.reason_required else "Reason (optional)",
            "pin": "Your payment password (Enter issues)",
        }
        lengths = {"meter": 20, **{field.name: field.max_length for field in self.token_kind.fields},
                   "reason": 200, "pin": 200}
        with Horizontal(id="exc-main"):
            with Vertical(id="exc-left"):
                for name in self.field_names():
                    yield LabeledField(labels[name], TextInput(id=name, max_length=lengths[name],
                                                               password=name == "pin"), id=f"field-{name}")
            with VerticalScroll(id="exc-right"):
                yield Static("Type the meter number and press Enter.", id="facts", markup=False)
        yield Static("", id="exc-message", markup=False)

    MESSAGE_ID = "exc-message"
    # The services name the payment password; this form calls its field "pin".
    FIELDS = {"payment_password": "pin"}

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#meter", Input).focus()

    def _field(self, name: str) -> LabeledField:
        return self.query_one(f"#field-{name}", LabeledField)

    def _clear_errors(self) -> None:
        for name in self.field_names():
            self._field(name).show_error(None)

    # The meter ---------------------------------------------------------------

    @on(Input.Submitted, "#meter")
    def _meter_entered(self, event: Input.Submitted) -> None:
        text = event.value.strip().replace(" ", "")
        if not text:
            self._field("meter").show_error("Type the meter number.")
            return
        from stron_tui.services import management

        call_service(self, management.find_meter, text, on_success=self._show_meter,
                     on_error=lambda error: self._meter_failed(error.message), group="meter")

    def _meter_failed(self, message: str) -> None:
        self.facts = None
        self._field("meter").show_error(message)
        self.query_one("#facts", Static).update("Type the meter number and press Enter.")

    def _show_meter(self, facts) -> None:
        from stron_tui.services.management import unsupported_reason

        if self.facts is None or self.facts.meter_number != facts.meter_number:
            self.request_id = ""  # another meter: another token
            self.say("")
        refusal = unsupported_reason(self.kind, facts.meter_number, facts.meter_type, facts.utility)
        if refusal:
            # Offered only where the meter's type takes it: nothing to fill in for this meter.
            self._meter_failed(refusal)
            return
        self.facts = facts
        self._field("meter").show_error(None)
        meter = self.query_one("#meter", Input)
        with meter.prevent(Input.Changed):
            meter.value = facts.meter_number
        lines = [f"Meter {facts.meter_number} ({facts.utility})", f"  {facts.meter_type[:34]}, {facts.meter_status}"]
        if facts.account_number:
            lines += [facts.customer_name[:36], f"Customer {facts.customer_code}",
                      f"Account {facts.account_number}", f"Tariff {facts.tariff_name[:30]}"]
        else:
            lines.append("No open account.")
        lines += ["Key data", f"  {facts.key_data}"]
        if facts.key_change_pending:
            lines.append("! Key change tokens come first")
        if facts.meter_status != "active":
            lines.append(f"! Meter is {facts.meter_status}")
        self.query_one("#facts", Static).update(printable("\n".join(lines), keep_newlines=True))
        self.query_one(f"#{self.field_names()[1]}", Input).focus()

    # The other fields and issuing ------------------------------------------------

    @on(Input.Changed, "#meter")
    def _meter_typed(self, event: Input.Changed) -> None:
        if self.facts is not None and event.value.strip().replace(" ", "") != self.facts.meter_number:
            # Another meter is being typed: nothing may be issued to the one shown before.
            self.facts = None
            self.request_id = ""
            self.say("")
            self.query_one("#facts", Static).update("Type the meter number and press Enter.")

    @on(Input.Submitted, NEXT_ON_ENTER)
    def _next(self, event: Input.Submitted) -> None:
        names = self.field_names()
        current = names.index(event.input.id)
        if current < len(names) - 1:
            self.query_one(f"#{names[current + 1]}", Input).focus()
        else:
            self._confirm()

    def _request(self):
        from stron_tui.services.management import ManagementRequest

        own = {field.name: field.parse(self.query_one(f"#{field.name}", Input).value)
               for field in self.token_kind.fields}  # each kind's parsing, with its own message
        return ManagementRequest(meter_number=self.facts.meter_number, kind=self.kind, request_id=self.request_id,
                                 reason=self.query_one("#reason", Input).value, **own)

    def _confirm(self) -> None:
        from stron_tui.services.vending import new_request_id

        if self.facts is None:
            self._field("meter").show_error("Enter the meter number first.")
            self.query_one("#meter", Input).focus()
            return
        self._clear_errors()
        if not self.request_id:
            self.request_id = new_request_id()  # kept until it succeeds: a retry cannot issue twice
        try:
            request = self._request()
        except ValidationError as error:
            self._failed(error)
            return
        password = self.query_one("#pin", Input).value
        if not password:
            self._field("pin").show_error("Enter your payment password.")
            self.query_one("#pin", Input).focus()
            return
        from stron_tui.services import management

        # A database failure rolls the transaction back: nothing was issued, and Enter may try again.
        call_service(self, management.issue, request, payment_password=password, on_success=self._issued,
                     on_error=self._failed, busy="Issuing...", group="issue",
                     unexpected="The token was not issued ({kind}); nothing was recorded. Press Enter to try again.")

    def _failed(self, error: StronError) -> None:
        pin = self.query_one("#pin", Input)
        with pin.prevent(Input.Changed):
            pin.value = ""
        show_failure(self, error, fields=self.FIELDS, say=True)

    def _issued(self, receipt) -> None:
        from screens.topup.receipt import ReceiptScreen

        self.say(f"Issued: receipt {receipt.receipt_number}.")
        self.app.push_screen(ReceiptScreen(receipt))
        self.action_new_token()

    def action_new_token(self) -> None:
        self.facts = None
        self.request_id = ""
        for name in self.field_names():
            field = self.query_one(f"#{name}", Input)
            with field.prevent(Input.Changed):
                field.value = ""
        self._clear_errors()
        self.query_one("#facts", Static).update("Type the meter number and press Enter.")
        self.query_one("#meter", Input).focus()


class ClearTamperScreen(ManagementTokenScreen):
    def __init__(self):
        super().__init__("clear_tamper")


class ClearCreditScreen(ManagementTokenScreen):
    def __init__(self):
        super().__init__("clear_credit")


class PowerLimitScreen(ManagementTokenScreen):
    def __init__(self):
        super().__init__("set_power_limit")


class PhaseUnbalanceScreen(ManagementTokenScreen):
    def __init__(self):
        super().__init__("set_phase_unbalance")


class KeyChangeScreen(ManagementTokenScreen):
    def __init__(self):
        super().__init__("key_change")


SCREENS: dict[str, type[ManagementTokenScreen]] = {
    "clear_tamper": ClearTamperScreen, "clear_credit": ClearCreditScreen, "set_power_limit": PowerLimitScreen,
    "set_phase_unbalance": PhaseUnbalanceScreen, "key_change": KeyChangeScreen,
}


def __getattr__(name: str):
    """`screens.exceptions.issue:<kind>`, the target screens/registry.py gives each kind in KINDS."""
    if name in SCREENS:
        return SCREENS[name]
    if name in KINDS:  # a kind without a class of its own: the plain screen for it
        return type(f"ManagementTokenScreen_{name}", (ManagementTokenScreen,),
                    {"__init__": lambda self: ManagementTokenScreen.__init__(self, name), "__module__": __name__})
    raise AttributeError(name)
