"""A receipt on screen, with print (at the station's own printer) and save."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Static

from screens.base import StronScreen
from tokencore import format_token
from stron_tui.errors import StronError
from widgets.fields import LabeledField, TextInput


class ReceiptScreen(StronScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("enter", "back", "Done", show=False, id="receipt.back"),
        Binding("p", "print_receipt", "Print", id="receipt.print-receipt"),
        Binding("s", "save_receipt", "Save txt/pdf", id="receipt.save-receipt"),
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
            summary.append(f"TOKEN  {format_token(self.receipt.token)}")
        yield Static("\n".join(summary), id="token-line", markup=False)
        with VerticalScroll():
            # On screen the receipt takes the room it has; the printer keeps the station's width.
            width = receipt_view_width(self.app.size.width - 6)
            yield Static(render_text(self.receipt, width), id="receipt-text", markup=False)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_print_receipt(self) -> None:
        from stron_tui.exports.receipts import render_text

        printer = getattr(self.app, "print_receipt", None)
        if printer is None:
            self.notify("Printing is not available here; press S to save the receipt.", severity="warning")
            return
        printer(render_text(self.receipt))

    def action_save_receipt(self) -> None:
        self._save()

    @work(thread=True, exclusive=True)
    def _save(self) -> None:
        from stron_tui.exports.receipts import save_receipt

        try:
            paths = save_receipt(self.app.ctx.settings, self.receipt, self.app.actor.user_code)
        except StronError as error:
            self.app.call_from_thread(self.notify, str(error), severity="error")
            return
        self.app.call_from_thread(self.notify, "Saved " + ", ".join(path.name for path in paths)
                                  + f" in {paths[0].parent}", timeout=8)


class ReprintScreen(StronScreen):
    """Find a past receipt by receipt or transaction number and print it again (marked REPRINT)."""

    TITLE_TEXT = "Reprint Receipt"

    def compose_body(self) -> ComposeResult:
        yield LabeledField("Receipt or transaction number", TextInput(id="number", max_length=24),
                           id="field-number")
        yield Static("Your last receipts:", id="recent", markup=False, classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#number", Input).focus()
        self._recent()

    @work(thread=True, exclusive=True, group="recent")
    def _recent(self) -> None:
        from stron_tui.services.receipts import recent_receipts

        receipts = recent_receipts(self.app.ctx, self.app.actor)
        lines = ["Your last receipts:"] + [
            f"  {r.receipt_number:<16} {r.local_time}  {r.meter_number}  {r.gross} {r.currency}" for r in receipts
        ]
        self.app.call_from_thread(self.query_one("#recent", Static).update,
                                  "\n".join(lines) if receipts else "You have no receipts yet.")

    @on(Input.Submitted, "#number")
    def _find(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self._reprint(event.value)

    @work(thread=True, exclusive=True, group="reprint")
    def _reprint(self, number: str) -> None:
        from stron_tui.services.receipts import reprint_receipt

        try:
            receipt = reprint_receipt(self.app.ctx, self.app.actor, number)
        except StronError as error:
            self.app.call_from_thread(self.query_one("#field-number", LabeledField).show_error, str(error))
            return
        self.app.call_from_thread(self._show, receipt)

    def _show(self, receipt) -> None:
        self.query_one("#field-number", LabeledField).show_error(None)
        self.app.push_screen(ReceiptScreen(receipt))
