"""A receipt on screen, with print (at the station's own printer) and save."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from screens.base import StronScreen
from screens.calls import call_service
from stron_tui.domain.tokens import grouped
from stron_tui.errors import StronError
from widgets.fields import LabeledField, TextInput
from widgets.words import shown_of_total


class ReceiptScreen(StronScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("enter", "back", "Done", show=False, id="receipt.back"),
        Binding("p", "print_receipt", "Print", id="receipt.print-receipt"),
        Binding("s", "save_receipt", "Save txt/pdf", id="receipt.save-receipt"),
        Binding("m", "send_to_customer", "SMS/e-mail", id="receipt.send-to-customer"),
    ]
    DEFAULT_CSS = """
    ReceiptScreen #receipt-text { width: auto; padding: 0 2; }
    ReceiptScreen #token-line { padding: 0 2; text-style: bold; height: auto; }
    """

    def __init__(self, receipt):
        super().__init__()
        self.receipt = receipt

    def compose_body(self) -> ComposeResult:
        from screens.topup.topup import receipt_view_width
        from stron_tui.exports.receipts import render_text

        title = "Receipt (reprint)" if self.receipt.reprint else "Receipt"
        yield Static(f"{title} {self.receipt.receipt_number}", classes="screen-title", markup=False)
        summary = []
        if self.receipt.key_change_tokens:
            summary.append(f"KEY CHANGE FIRST: {len(self.receipt.key_change_tokens)} tokens, in order (see below)")
        if self.receipt.token:
            summary.append(f"TOKEN  {grouped(self.receipt.token)}")
        yield Static("\n".join(summary), id="token-line", markup=False)
        with VerticalScroll():
            # On screen the receipt takes the room it has; the printer keeps the station's width.
            width = receipt_view_width(self.app.size.width - 6)
            yield Static(render_text(self.receipt, width), id="receipt-text", markup=False)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_print_receipt(self) -> None:
        printer = getattr(self.app, "print_receipt", None)
        if printer is None:
            self.notify("Printing is not available here; press S to save the receipt.", severity="warning")
            return
        printer(self.receipt)  # prints only where the station prints; else saves it and says where

    def action_save_receipt(self) -> None:
        save_receipt_files(self, self.receipt)

    def action_send_to_customer(self) -> None:
        """Queue the token for the customer's consented phone / mailbox (services/messages.py)."""
        from stron_tui.services.messages import send_receipt

        call_service(self, send_receipt, self.receipt.receipt_number, group="send",
                     on_error=lambda error: self.notify(error.message, severity="warning", timeout=10),
                     on_success=lambda queued: self.notify(f"Token queued for the customer ({queued} message(s)); "
                                                           "it goes out in the background.", timeout=10))


def save_receipt_files(screen, receipt) -> None:
    """S on a receipt: save it as text and PDF in the operator's export folder (audited), and say where."""
    from stron_tui.services.receipts import save_receipt

    call_service(screen, save_receipt, receipt, group="save",
                 on_error=lambda error: screen.notify(error.message, severity="error"),
                 on_success=lambda paths: screen.notify("Saved " + screen.app.where_saved(paths), timeout=10))


class ReprintScreen(StronScreen):
    """Find a past receipt by its number, or a part of it, and print it again (marked REPRINT).

    The list shows the operator's last receipts at this station, narrowed to
    those holding the typed part; Enter on the field takes a full number or
    the only match, Down goes into the list, Enter there reprints that one.
    """

    TITLE_TEXT = "Reprint Receipt"
    MATCHES = 8

    def compose_body(self) -> ComposeResult:
        yield LabeledField("Receipt or transaction number, or a part of it", TextInput(id="number", max_length=24),
                           id="field-number")
        yield Static("Your last receipts:", id="recent", markup=False, classes="hint")
        yield OptionList(id="receipts")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#number", Input).focus()
        self._recent("")

    @on(Input.Changed, "#number")
    def _typed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        text = event.value.strip()
        self._timer = self.set_timer(0.3, lambda: self._recent(text))

    _timer = None

    def _recent(self, part: str, choose: bool = False) -> None:
        from stron_tui.services.receipts import recent_receipts_counted

        call_service(self, recent_receipts_counted, self.MATCHES, part, group="recent", on_error=self._refused,
                     on_success=lambda found: self._show_recent(part, *found, choose))

    def _refused(self, error: StronError) -> None:
        self.query_one("#field-number", LabeledField).show_error(error.message)

    def _show_recent(self, part: str, receipts, total: int, choose: bool) -> None:
        from stron_tui.services.receipts import RECEIPT_COUNT_LIMIT

        from screens.menu import receipt_line

        if self.query_one("#number", Input).value.strip() != part:
            return  # typed on meanwhile
        options = self.query_one("#receipts", OptionList)
        options.clear_options()
        for receipt in receipts:
            options.add_option(Option(receipt_line(receipt), id=receipt.receipt_number))
        options.display = bool(receipts)
        count = shown_of_total(len(receipts), min(total, RECEIPT_COUNT_LIMIT), total > RECEIPT_COUNT_LIMIT)
        if not part:
            title = (f"Your last receipts here: {count} (Down, then Enter reprints):" if receipts
                     else "You have no receipts yet.")
        elif receipts:
            title = f"Your receipts holding {part!r}: {count} (Down, Enter reprints one):"
        else:
            title = f"None of your last receipts here holds {part!r}."
        self.query_one("#recent", Static).update(title)
        if choose:
            if len(receipts) == 1:
                self._reprint(receipts[0].receipt_number)
            elif receipts:
                options.highlighted = 0
                options.focus()
            else:
                self.query_one("#field-number", LabeledField).show_error(
                    f"There is no receipt or transaction numbered {part.upper()}, and none of your last "
                    "receipts here holds it.")

    def on_key(self, event) -> None:
        options = self.query_one("#receipts", OptionList)
        if event.key == "down" and self.focused is self.query_one("#number", Input) and options.option_count:
            options.highlighted = 0
            options.focus()
            event.stop()
            event.prevent_default()

    @on(Input.Submitted, "#number")
    def _find(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self._reprint(event.value, partial=True)

    @on(OptionList.OptionSelected, "#receipts")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self._reprint(event.option.id)

    def _reprint(self, number: str, partial: bool = False) -> None:
        from stron_tui.errors import NotFound
        from stron_tui.services.receipts import reprint_receipt

        def refused(error: StronError) -> None:
            if partial and isinstance(error, NotFound):  # not a whole number: offer the receipts that hold it
                self._recent(number.strip(), True)
            else:
                self._refused(error)

        call_service(self, reprint_receipt, number, group="reprint", on_success=self._show, on_error=refused)

    def _show(self, receipt) -> None:
        self.query_one("#field-number", LabeledField).show_error(None)
        self.app.push_screen(ReceiptScreen(receipt))
