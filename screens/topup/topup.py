"""The Top-up Center: find the meter, preview the sale, confirm with the payment password, receipt.

The whole flow is keyboard only: type a meter number, customer name or
account (matches appear as you type; Enter takes the highlighted one), type
the amount (or units), Enter shows the breakdown, type the payment password,
Enter sells. The token appears only after the sale has committed.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from screens.base import StronScreen
from stron_tui.errors import StronError, ValidationError
from stron_tui.money import money_text
from widgets.fields import LabeledField, TextInput

SEARCH_DELAY = 0.3  # seconds of typing pause before asking the database (debounce)


def receipt_view_width(room: int) -> int:
    """A receipt on screen uses the room it has (not the printer's 32 or 40 columns), 32 to 60 wide."""
    return max(32, min(room, 60))


def money(value, currency: str = "") -> str:
    return money_text(value, currency)  # quotes come rounded to the currency's minor unit (XOF 0, KWD 3)


class TopUpScreen(StronScreen):
    CSS_PATH = "topup.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("f5", "refresh_target", "Refresh", show=False, id="topup.refresh-target"),
        Binding("f7", "switch_mode", "Amount/Units", show=False, id="topup.switch-mode"),
        Binding("f8", "reprint", "Reprint", id="topup.reprint"),
        Binding("f9", "new_sale", "New sale", id="topup.new-sale"),
        # Active while the receipt has the focus (in a field these letters are typed).
        Binding("p", "print_receipt", "Print", id="topup.print-receipt"),
        Binding("s", "save_receipt", "Save", id="topup.save-receipt"),
        Binding("enter", "new_sale", "Next sale", show=False, id="topup.new-sale-enter"),
    ]

    def __init__(self, mode: str = "amount"):
        super().__init__()
        self.mode = mode
        self.target = None
        self.quote = None
        self.request_id = ""
        self.receipt = None
        self._search_timer: Timer | None = None
        self._currencies: list[str] = []
        self._payment_types: list[tuple[str, str]] = []

    def compose_body(self) -> ComposeResult:
        from stron_tui.services import vending

        # Two small reference lists, read once when the screen opens.
        self._currencies = vending.currencies(self.app.ctx) or [self.app.ctx.settings.currency]
        self._payment_types = vending.payment_types(self.app.ctx) or [("cash", "Cash")]
        yield Static(self._title(), id="topup-title", classes="screen-title", markup=False)
        with Horizontal(id="topup-main"):
            with Vertical(id="topup-left"):
                yield LabeledField("Meter number, customer or account", TextInput(id="find", max_length=40),
                                   id="field-find")
                yield OptionList(id="matches")
                yield LabeledField(self._value_label(), TextInput(id="value", max_length=16), id="field-value")
                with Horizontal(id="payment-row"):
                    yield Select([(code, code) for code in self._currencies], id="currency", allow_blank=False,
                                 value=self._default_currency(), prompt="Currency", compact=True)
                    yield Select([(name, code) for code, name in self._payment_types], id="payment-type",
                                 allow_blank=False, prompt="Payment", compact=True)
                yield LabeledField("Payment password (Enter sells)",
                                   TextInput(id="pin", password=True, max_length=200), id="field-pin")
            with VerticalScroll(id="topup-right"):
                yield Static("Find a meter to begin.", id="target", markup=False)
                yield Static("", id="preview", markup=False)
        yield Static("", id="topup-message", markup=False)

    def _title(self) -> str:
        return "Top-up Center: by amount" if self.mode == "amount" else "Top-up Center: by unit"

    def _value_label(self) -> str:
        return "Amount paid" if self.mode == "amount" else "Units wanted (kWh / m3)"

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#matches", OptionList).display = False
        self.query_one("#find", Input).focus()

    def _default_currency(self) -> str:
        default = self.app.ctx.settings.currency
        return default if default in self._currencies else self._currencies[0]

    # Finding the meter --------------------------------------------------------

    @on(Input.Changed, "#find")
    def _typed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        text = event.value.strip()
        if len(text) < 2:
            self.query_one("#matches", OptionList).display = False
            return
        self._search_timer = self.set_timer(SEARCH_DELAY, lambda: self._search(text))

    @work(thread=True, exclusive=True, group="search")
    def _search(self, text: str) -> None:
        from stron_tui.services import vending

        try:
            matches = vending.find_accounts(self.app.ctx, self.app.actor, text)
        except StronError as error:
            self.app.call_from_thread(self._say, str(error))
            return
        self.app.call_from_thread(self._show_matches, matches)

    def _show_matches(self, matches) -> None:
        if self.target is not None and self.query_one("#find", Input).value == self.target.meter_number:
            return  # a late answer for what was typed before the meter was chosen
        options = self.query_one("#matches", OptionList)
        options.clear_options()
        for match in matches:
            options.add_option(Option(f"{match.meter_number}  {match.customer_name[:24]}  {match.account_number}",
                                      id=match.meter_number))
        options.display = bool(matches)
        if matches:
            options.highlighted = 0

    def on_key(self, event) -> None:
        # Up/Down in the search box move through the matches without leaving it.
        if self.focused is self.query_one("#find", Input) and event.key in ("down", "up"):
            options = self.query_one("#matches", OptionList)
            if options.display and options.option_count:
                current = options.highlighted or 0
                step = 1 if event.key == "down" else -1
                options.highlighted = max(0, min(options.option_count - 1, current + step))
                event.prevent_default()
                event.stop()

    @on(Input.Submitted, "#find")
    def _choose_typed(self, event: Input.Submitted) -> None:
        options = self.query_one("#matches", OptionList)
        text = event.value.strip().replace(" ", "")
        if options.display and options.highlighted is not None:
            number = options.get_option_at_index(options.highlighted).id
        elif text:
            number = text
        else:
            self.query_one("#field-find", LabeledField).show_error("Type a meter number, customer or account.")
            return
        self._stop_search()
        self._load_target(number)

    @on(OptionList.OptionSelected, "#matches")
    def _choose_listed(self, event: OptionList.OptionSelected) -> None:
        self._stop_search()
        self._load_target(event.option.id)

    def _stop_search(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None

    @work(thread=True, exclusive=True, group="target")
    def _load_target(self, meter_number: str) -> None:
        from stron_tui.services import vending

        try:
            target = vending.load_target(self.app.ctx, self.app.actor, meter_number)
        except StronError as error:
            self.app.call_from_thread(self.query_one("#field-find", LabeledField).show_error, str(error))
            return
        self.app.call_from_thread(self._show_target, target)

    def _show_target(self, target) -> None:
        self.target = target
        self.quote = None
        self.query_one("#field-find", LabeledField).show_error(None)
        self.query_one("#matches", OptionList).display = False
        find = self.query_one("#find", Input)
        with find.prevent(Input.Changed):
            find.value = target.meter_number
        terms = target.tariff
        lines = [
            f"{target.customer_name[:34]}",
            f"Customer {target.customer_code}  Account {target.account_number}",
            f"Meter {target.meter_number} ({target.utility})",
            f"Tariff {terms.name[:28]}",
            f"  {terms.price_all_in.normalize()} {terms.currency}/{terms.unit}"
            + (" incl. taxes" if terms.prices_include_vat else " + taxes"),
        ]
        if target.meter_status != "active":
            lines.append(f"! Meter is {target.meter_status}: no sales")
        if not target.tariff_active:
            lines.append("! Tariff is retired: no sales")
        if target.key_change_pending:
            lines.append("! Key change tokens come first")
        for past in target.last_vends[:2]:
            lines.append(f"Last {past.when[5:]} {money(past.amount, past.currency)} {past.units}{past.unit}")
        if not target.last_vends:
            lines.append("No purchases yet.")
        self.query_one("#target", Static).update("\n".join(lines))
        self.query_one("#preview", Static).update("")
        currency = self.query_one("#currency", Select)
        if terms.currency in self._currencies:
            currency.value = terms.currency
        self.query_one("#value", Input).focus()

    # Preview and sale -----------------------------------------------------------

    def _request(self):
        from stron_tui.services.vending import VendRequest

        currency = self.query_one("#currency", Select).value
        payment = self.query_one("#payment-type", Select).value
        return VendRequest(
            meter_number=self.target.meter_number,
            mode=self.mode,
            value=self.query_one("#value", Input).value,
            currency=currency if isinstance(currency, str) else None,
            payment_type=payment if isinstance(payment, str) else "cash",
            request_id=self.request_id,
        )

    @on(Input.Submitted, "#value")
    def _preview_requested(self) -> None:
        if self.target is None:
            self.query_one("#field-find", LabeledField).show_error("Choose the meter first.")
            self.query_one("#find", Input).focus()
            return
        self._preview(self._request())

    @on(Select.Changed)
    def _choice_changed(self) -> None:
        if self.quote is not None and self.target is not None:
            self._preview(self._request())

    @work(thread=True, exclusive=True, group="preview")
    def _preview(self, request) -> None:
        from stron_tui.services import vending

        try:
            quote = vending.preview(self.app.ctx, self.app.actor, request)
        except StronError as error:
            self.app.call_from_thread(self._preview_failed, error)
            return
        self.app.call_from_thread(self._show_preview, quote)

    def _preview_failed(self, error: StronError) -> None:
        self.quote = None
        self.query_one("#preview", Static).update("")
        field = getattr(error, "field", None)
        if field in ("amount", "units", "mode"):
            self.query_one("#field-value", LabeledField).show_error(str(error))
            self.query_one("#value", Input).focus()
        else:
            self._say(str(error))

    def _show_preview(self, quote) -> None:
        from stron_tui.services import vending

        self.quote = quote
        self.request_id = vending.new_request_id()  # one id per confirmed sale: a retry reuses it
        self.query_one("#field-value", LabeledField).show_error(None)
        lines = ["PREVIEW: nothing sold yet"]
        if quote.paid_currency != quote.currency:
            lines.append(f"Paid        {money(quote.paid_amount, quote.paid_currency)}"
                         f" @ {quote.exchange_rate.normalize()}")
        lines += [
            f"Gross       {money(quote.gross, quote.currency)}",
            f"VAT         {money(quote.vat, quote.currency)}",
            f"Excise      {money(quote.excise, quote.currency)}",
            f"Net charge  {money(quote.net, quote.currency)}",
            f"Price/unit  {quote.price_all_in.normalize()} {quote.currency}/{quote.unit}",
            f"UNITS       {quote.units} {quote.unit}",
        ]
        self.query_one("#preview", Static).update("\n".join(lines))
        self._say("Check the preview, then type the payment password and press Enter to sell.")
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    def _confirm(self, event: Input.Submitted) -> None:
        if self.quote is None or self.target is None:
            self._say("Preview the sale first: enter the amount and press Enter.")
            self.query_one("#value", Input).focus()
            return
        if not event.value:
            self.query_one("#field-pin", LabeledField).show_error("Enter your payment password.")
            return
        self.query_one("#field-pin", LabeledField).show_error(None)
        self._say("Selling...")
        self._sell(self._request(), event.value)

    @work(thread=True, exclusive=True, group="sell")
    def _sell(self, request, password: str) -> None:
        from stron_tui.services import vending

        try:
            receipt = vending.vend(self.app.ctx, self.app.actor, request, payment_password=password)
        except StronError as error:
            self.app.call_from_thread(self._sale_failed, error)
            return
        except Exception as error:  # a database failure: nothing was sold (the transaction rolled back)
            self.app.call_from_thread(
                self._sale_failed,
                StronError(f"The sale did not go through ({type(error).__name__}); nothing was recorded. "
                           "Press Enter to try again."),
            )
            return
        self.app.call_from_thread(self._sold, receipt)

    def _sale_failed(self, error: StronError) -> None:
        pin = self.query_one("#pin", Input)
        pin.value = ""
        if isinstance(error, ValidationError) and error.field in ("amount", "units"):
            self.query_one("#field-value", LabeledField).show_error(str(error))
        elif isinstance(error, ValidationError) or "password" in str(error).lower():
            self.query_one("#field-pin", LabeledField).show_error(str(error))
        self._say(str(error))
        if "locked" in str(error):
            self.app.notify(str(error), severity="error")

    def _sold(self, receipt) -> None:
        """The receipt replaces the preview in place: no new screen to paint over a slow link."""
        from stron_tui.exports.receipts import render_text
        from tokencore import format_token

        self.action_new_sale(focus=False)
        self.receipt = receipt
        panel = self.query_one("#topup-right", VerticalScroll)
        width = receipt_view_width(panel.size.width - 3)
        head = []
        if receipt.key_change_tokens:
            head.append(f"KEY CHANGE FIRST: {len(receipt.key_change_tokens)} tokens, in order (below)")
        head.append(f"TOKEN {format_token(receipt.token)}")
        self.query_one("#target", Static).update("\n".join(head))
        self.query_one("#preview", Static).update(render_text(receipt, width))
        self._say(f"Sold: receipt {receipt.receipt_number}. P prints, S saves, Enter starts the next sale.")
        panel.scroll_home(animate=False)
        panel.focus()

    def action_print_receipt(self) -> None:
        if self.receipt is None:
            return
        from stron_tui.exports.receipts import render_text

        printer = getattr(self.app, "print_receipt", None)
        if printer is None:
            self.notify("Printing is not available here; press S to save the receipt.", severity="warning")
            return
        printer(render_text(self.receipt))

    def action_save_receipt(self) -> None:
        if self.receipt is not None:
            self._save(self.receipt)

    @work(thread=True, exclusive=True, group="save")
    def _save(self, receipt) -> None:
        from stron_tui.exports.receipts import save_receipt

        try:
            paths = save_receipt(self.app.ctx.settings, receipt, self.app.actor.user_code)
        except StronError as error:
            self.app.call_from_thread(self.notify, str(error), severity="error")
            return
        self.app.call_from_thread(self.notify, "Saved " + ", ".join(path.name for path in paths)
                                  + f" in {paths[0].parent}", timeout=8)

    def action_reprint(self) -> None:
        self.app.open_entry("topup.reprint")

    def _say(self, text: str) -> None:
        self.query_one("#topup-message", Static).update(text)

    # Keys ---------------------------------------------------------------------

    def action_refresh_target(self) -> None:
        if self.target is not None:
            self._load_target(self.target.meter_number)

    def action_switch_mode(self) -> None:
        self.mode = "units" if self.mode == "amount" else "amount"
        self.query_one("#topup-title", Static).update(self._title())
        self.query_one("#field-value", LabeledField).query_one("Label").update(self._value_label())
        self.quote = None
        self.query_one("#preview", Static).update("")

    def action_new_sale(self, focus: bool = True) -> None:
        self.receipt = None
        self.target = None
        self.quote = None
        self.request_id = ""
        for selector in ("#find", "#value", "#pin"):
            field = self.query_one(selector, Input)
            with field.prevent(Input.Changed):
                field.value = ""
        self.query_one("#target", Static).update("Find a meter to begin.")
        self.query_one("#preview", Static).update("")
        if focus:
            self._say("")
            self.query_one("#find", Input).focus()


class TopUpByUnitScreen(TopUpScreen):
    def __init__(self):
        super().__init__(mode="units")
