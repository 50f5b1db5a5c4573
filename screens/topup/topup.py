"""The Top-up Center: find the meter, preview the sale, confirm with the payment password, receipt.

The whole flow is keyboard only: type a meter number, account number,
customer ID or any word of the name (matches appear as you type; Enter takes
the only one, or the one picked with Down/Up), type the amount (or units),
Enter shows the breakdown, type the payment password, Enter sells. The token
appears only after the sale has committed.

A sale in progress is never dropped without a word: F9 (New sale) is the one
key that clears it; Esc, F10, Ctrl+Q and opening another module ask first.
Changing the amount, currency or payment type drops the preview, never the
sale; the payment type starts from the default for each new customer.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from screens.base import StronScreen
from screens.calls import STOPPING_ERRORS, call_service, show_failure, show_field_errors
from stron_tui.errors import StronError, ValidationError
from stron_tui.domain.text import printable
from stron_tui.money import money_text
from widgets.fields import LabeledField, TextInput
from widgets.picker import Picker
from widgets.words import shown_of_total

SEARCH_DELAY = 0.3  # seconds of typing pause before asking the database (debounce)
MATCH_LIMIT = 8  # matches listed under the search box
MATCH_COUNT_LIMIT = 100  # matches counted for "8 of 23 accounts match"; beyond it "8 of more than 100"


def _match_line(match, width: int) -> str:
    """One match on one line of `width` columns: meter, name (shortened with ~), account."""
    room = max(6, width - len(match.meter_number) - len(match.account_number) - 2)
    name = match.customer_name if len(match.customer_name) <= room else match.customer_name[:room - 1] + "~"
    return f"{match.meter_number} {name:<{room}} {match.account_number}"[:max(width, 20)]


def receipt_view_width(room: int) -> int:
    """A receipt on screen uses the room it has (not the printer's 32 or 40 columns), 32 to 60 wide."""
    return max(32, min(room, 60))


class ReceiptPanel(VerticalScroll):
    """The right-hand panel: the customer and breakdown, then the receipt, which has the focus after a sale."""

    async def _on_key(self, event) -> None:
        # Enter on the receipt starts the next sale: the keys typed right after it are that sale's and go to
        # the meter field it focuses (StronScreen.hold_key), not to this panel, which would drop them.
        hold_key = getattr(self.screen, "hold_key", None)
        if hold_key is not None and hold_key(self, event):
            event.stop()
            event.prevent_default()


def money(value, currency: str = "") -> str:
    return money_text(value, currency)  # quotes come rounded to the currency's minor unit (XOF 0, KWD 3)


class TopUpScreen(StronScreen):
    CSS_PATH = "topup.tcss"
    MESSAGE_ID = "topup-message"
    # The services' field names, and the inputs here that hold them.
    FIELDS = {"amount": "value", "units": "value", "mode": "value", "payment_password": "pin"}
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("f5", "refresh_target", "Refresh", show=False, id="topup.refresh-target"),
        Binding("f7", "switch_mode", "Amount/Units/Debt", show=False, id="topup.switch-mode"),
        Binding("f8", "reprint", "Reprint", id="topup.reprint"),
        Binding("f9", "new_sale", "New sale", id="topup.new-sale"),
        # The cashier's own shift, over the sale (which stays as typed): selling at a station needs one open.
        Binding("f6", "app.open_entry('topup.shift')", "Shift", show=False, id="topup.shift"),
        # Only while a receipt is shown (and has the focus: in a field these letters are typed).
        Binding("p", "print_receipt", "Print", id="topup.print-receipt"),
        Binding("s", "save_receipt", "Save", id="topup.save-receipt"),
        Binding("enter", "next_sale", "Next sale", show=False, id="topup.next-sale"),
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
        self._quoted = None  # the request the preview on screen was made for

    def load_before_compose(self) -> None:
        from stron_tui.services import vending

        # Two small reference lists, read once when the screen opens.
        self._currencies = vending.currencies(self.app.ctx) or [self.app.ctx.settings.currency]
        self._payment_types = vending.payment_types(self.app.ctx) or [("cash", "Cash")]

    def compose_body(self) -> ComposeResult:
        yield Static(self._title(), id="topup-title", classes="screen-title", markup=False)
        with Horizontal(id="topup-main"):
            with Vertical(id="topup-left"):
                yield LabeledField("Meter number, customer or account", TextInput(id="find", max_length=40),
                                   id="field-find")
                yield OptionList(id="matches")
                yield LabeledField(self._value_label(), TextInput(id="value", max_length=16), id="field-value")
                with Horizontal(id="payment-row"):
                    yield Picker([(code, code) for code in self._currencies], id="currency", allow_blank=False,
                                 value=self._default_currency(), prompt="Currency", compact=True)
                    yield Picker([(name, code) for code, name in self._payment_types], id="payment-type",
                                 allow_blank=False, prompt="Payment", compact=True)
                yield LabeledField("Payment password (Enter sells)",
                                   TextInput(id="pin", password=True, max_length=200), id="field-pin")
            with ReceiptPanel(id="topup-right"):
                yield Static("Find a meter to begin.", id="target", markup=False)
                yield Static("", id="preview", markup=False)
        yield Static("", id="topup-message", markup=False)

    def _title(self) -> str:
        return {"amount": "Top-up Center: by amount", "units": "Top-up Center: by unit",
                "debt": "Top-up Center: debt payment (receipt, no token)"}[self.mode]

    def _value_label(self) -> str:
        return {"amount": "Amount paid", "units": "Units wanted (kWh / m3)", "debt": "Debt paid"}[self.mode]

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#matches", OptionList).display = False
        # Focusable only while a receipt is shown: Tab/Enter during a sale can never land on "next sale".
        self.query_one("#topup-right", VerticalScroll).can_focus = False
        self.query_one("#find", Input).focus()

    def _default_currency(self) -> str:
        default = self.app.ctx.settings.currency
        return default if default in self._currencies else self._currencies[0]

    def _default_payment_type(self) -> str:
        """The first active payment type in the configured order (System > currencies and payment types)."""
        return self._payment_types[0][0]

    def _set_choice(self, selector: str, value: str) -> None:
        """Set a dropdown without it counting as the cashier's choice."""
        select = self.query_one(selector, Select)
        if select.value != value:
            with select.prevent(Select.Changed):
                select.value = value

    def sale_in_progress(self) -> bool:
        """Something typed for a sale that has not been sold (what Esc and F9 would drop)."""
        if self.receipt is not None:
            return False
        return self.target is not None or any(self.query_one(s, Input).value.strip() for s in ("#find", "#value"))

    def check_action(self, action: str, parameters) -> bool | None:
        if action in ("print_receipt", "save_receipt", "next_sale"):
            return self.receipt is not None
        return True

    # Finding the meter --------------------------------------------------------

    @on(Input.Changed, "#find")
    def _typed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        if self.target is not None and event.value.strip().replace(" ", "") != self.target.meter_number:
            # The cashier is looking for another meter: what was shown is no longer what would be sold.
            self._forget_target()
        self.say("")
        text = event.value.strip()
        if len(text) < 2:
            self.query_one("#matches", OptionList).display = False
            return
        self._search_timer = self.set_timer(SEARCH_DELAY, lambda: self._search(text))

    def _search(self, text: str, choose: bool = False) -> None:
        from stron_tui.services import vending

        call_service(self, vending.search_accounts, text, limit=MATCH_LIMIT, count_up_to=MATCH_COUNT_LIMIT,
                     group="search", on_success=lambda found: self._show_matches(text, found, choose))

    def _show_matches(self, text: str, found, choose: bool = False) -> None:
        find = self.query_one("#find", Input)
        if find.value.strip() != text:
            return  # a late answer for what was typed before
        if self.target is not None:
            return  # a meter was chosen meanwhile
        matches = found.matches
        options = self.query_one("#matches", OptionList)
        options.clear_options()
        # The left column less the list's scrollbar gutter and option padding.
        width = self.query_one("#topup-left").content_size.width - 4
        for match in matches:
            options.add_option(Option(_match_line(match, width), id=match.meter_number))
        options.display = bool(matches)
        # One match is highlighted for Enter; of several the cashier picks one: none is taken silently.
        options.highlighted = 0 if len(matches) == 1 else None
        field = self.query_one("#field-find", LabeledField)
        if len(matches) > 1:
            field.show_error(None)
            count = shown_of_total(len(matches), found.total, found.more, "accounts")
            narrow = "; type more to narrow." if len(matches) < found.total else "."
            self.say(f"{count} match: Down/Up picks one, Enter takes it{narrow}")
        if not choose:
            return
        digits = text.replace(" ", "")
        exact = [m for m in matches if m.meter_number == digits]
        if len(matches) == 1 or exact:
            self._stop_search()
            self._load_target((exact or matches)[0].meter_number)
        elif not matches:
            if digits.isdigit():
                self._load_target(digits)  # says clearly whether the meter exists or has no account
            else:
                field.show_error(f"No open account matches {text!r}: type a meter number, customer ID, "
                                 "account number or name.")

    def on_key(self, event) -> None:
        # Up/Down in the search box move through the matches without leaving it.
        if self.focused is self.query_one("#find", Input) and event.key in ("down", "up"):
            options = self.query_one("#matches", OptionList)
            if options.display and options.option_count:
                step = 1 if event.key == "down" else -1
                if options.highlighted is None:
                    options.highlighted = 0 if step == 1 else options.option_count - 1
                else:
                    options.highlighted = max(0, min(options.option_count - 1, options.highlighted + step))
                event.prevent_default()
                event.stop()

    @on(Input.Submitted, "#find")
    def _choose_typed(self, event: Input.Submitted) -> None:
        options = self.query_one("#matches", OptionList)
        text = event.value.strip()
        if self.target is not None and text.replace(" ", "") == self.target.meter_number:
            self.query_one("#value", Input).focus()
            return
        if options.display and options.highlighted is not None:
            self._stop_search()
            self._load_target(options.get_option_at_index(options.highlighted).id)
        elif text:
            # Enter before the matches came (or for a full number): look now, and take it only if one fits.
            self._stop_search()
            self._search(text, choose=True)
        else:
            self.query_one("#field-find", LabeledField).show_error("Type a meter number, customer or account.")

    @on(OptionList.OptionSelected, "#matches")
    def _choose_listed(self, event: OptionList.OptionSelected) -> None:
        self._stop_search()
        self._load_target(event.option.id)

    def _stop_search(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None

    def _load_target(self, meter_number: str, refresh: bool = False) -> None:
        from stron_tui.services import vending

        call_service(self, vending.load_target, meter_number, group="target",
                     on_success=lambda target: self._show_target(target, refresh), on_error=self._target_failed)

    def _target_failed(self, error: StronError) -> None:
        self._forget_target()
        self.query_one("#field-find", LabeledField).show_error(error.message)
        self.query_one("#find", Input).focus()

    def _forget_target(self) -> None:
        """No meter chosen: nothing shown about one, nothing that could be sold to it."""
        self.target = None
        self._drop_preview()
        self.query_one("#target", Static).update("Find a meter to begin.")

    def _drop_preview(self) -> None:
        self.quote = None
        self._quoted = None
        self.query_one("#preview", Static).update("")

    def _booked_station(self, target) -> str:
        """The station the sale is booked to, by the rule the sale itself applies: the operator's own
        station, else (an operator without one, such as Admin) the station of the customer's account."""
        if self.app.actor.station_id is not None:
            return f"{(self.app._station_label or 'your station').split()[0]} (your station)"
        return f"{target.station_code} (account's; you have none)"

    def _show_target(self, target, refresh: bool = False) -> None:
        another = self.target is None or self.target.meter_number != target.meter_number or not refresh
        self.target = target
        self._drop_preview()
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
            f"Booked to {self._booked_station(target)}"[:40],
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
        self.query_one("#target", Static).update(printable("\n".join(lines), keep_newlines=True))
        if another:
            # A new customer: the payment type and currency start from the defaults again, and the
            # messages about the previous meter go.
            self._set_choice("#payment-type", self._default_payment_type())
            if terms.currency in self._currencies:
                self._set_choice("#currency", terms.currency)
            for name in ("value", "pin"):
                self.query_one(f"#field-{name}", LabeledField).show_error(None)
            self.say("")
            self.query_one("#value", Input).focus()
        else:
            self.say("Meter data refreshed.")

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
            payment_type=payment if isinstance(payment, str) else self._default_payment_type(),
            request_id=self.request_id,
            quote_id=self.quote.quote_id if self.quote is not None else "",  # sell exactly what was previewed
        )

    @on(Input.Submitted, "#value")
    def _preview_requested(self) -> None:
        if self.target is None:
            self.query_one("#field-find", LabeledField).show_error("Choose the meter first.")
            self.query_one("#find", Input).focus()
            return
        self._preview(self._request())

    @on(Input.Changed, "#value")
    def _value_changed(self) -> None:
        if self.quote is not None:
            # The preview was for another amount: it must be seen again before anything is sold.
            self._drop_preview()
            self.say("Amount changed: press Enter to see the new breakdown.")

    @on(Select.Changed)
    def _choice_changed(self, event: Select.Changed) -> None:
        """The cashier picked a currency or payment type: the sale stays, the focus moves on once (after Enter
        when picked by letters, which may go on to another option)."""
        typing = isinstance(event.select, Picker) and event.select.typing
        if self.target is None:
            if not typing:
                self.query_one("#find", Input).focus()
            return
        if not self.query_one("#value", Input).value.strip():
            if not typing:
                self.query_one("#value", Input).focus()
            return
        self._drop_preview()
        self._preview(self._request())  # focuses the payment password when the breakdown is shown

    def _preview(self, request) -> None:
        call_service(self, preview_sale, request, group="preview",
                     on_success=lambda quote: self._show_preview(request, quote),
                     on_error=lambda error: self._preview_failed(request, error))

    def _still_asked(self, request) -> bool:
        """The answer is for what the screen shows now (not for an amount or meter changed meanwhile)."""
        if self.target is None or self.receipt is not None:
            return False
        now = self._request()
        return (now.meter_number, now.mode, now.value, now.currency, now.payment_type) == (
            request.meter_number, request.mode, request.value, request.currency, request.payment_type)

    def _preview_failed(self, request, error: StronError) -> None:
        from stron_tui.services.shifts import NoOpenShift

        if not self._still_asked(request):
            return
        self._drop_preview()
        self._waiting_for_shift = isinstance(error, NoOpenShift)
        show_failure(self, error, fields=self.FIELDS)

    def _show_preview(self, request, quote) -> None:
        from stron_tui.services import vending

        if not self._still_asked(request):
            return
        self.quote = quote
        self._quoted = request
        self.request_id = vending.new_request_id()  # one id per confirmed sale: a retry reuses it
        self.query_one("#field-value", LabeledField).show_error(None)
        if request.mode == "debt":
            self.query_one("#preview", Static).update("\n".join([
                "PREVIEW: debt payment, no token",
                f"Owed        {money(quote.owed, quote.currency)}",
                f"Paid        {money(quote.paid, quote.currency)}",
                f"Still owed  {money(quote.still_owed, quote.currency)}"]))
            self.say("Check the preview, then type your payment password and press Enter to take the payment.")
            if not (isinstance(self.focused, Picker) and self.focused.typing):
                self.query_one("#pin", Input).focus()
            return
        lines = ["PREVIEW: nothing sold yet"]
        if quote.paid_currency != quote.currency:
            lines.append(f"Paid        {money(quote.paid_amount, quote.paid_currency)}"
                         f" @ {quote.exchange_rate.normalize()}")
        lines += [f"Gross       {money(quote.gross, quote.currency)}", *revenue_lines(quote, money),
                  f"VAT         {money(quote.vat, quote.currency)}",
                  f"Excise      {money(quote.excise, quote.currency)}",
                  f"Net charge  {money(quote.net, quote.currency)}"]
        if len(quote.blocks) <= 1:
            lines.append(f"Price/unit  {quote.price_all_in.normalize()} {quote.currency}/{quote.unit}")
        lines.append(f"UNITS       {quote.units} {quote.unit}")
        if quote.free_units:
            lines.append(f"FREE UNITS  {quote.free_units} {quote.unit} (own token; subsidy "
                         f"{money(quote.subsidy, quote.currency)})")
        self.query_one("#preview", Static).update("\n".join(lines))
        if isinstance(self.focused, Picker) and self.focused.typing:
            # The cashier is still choosing by letters ("c" Cash, "c" again Cheque): Enter takes it, then the pin.
            self.say("Check the preview; Enter takes this payment type, then type your payment password.")
            return
        self.say("Check the preview, then type your payment password and press Enter to sell.")
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    def _confirm(self, event: Input.Submitted) -> None:
        if self.quote is None or self.target is None or not self._still_asked(self._quoted):
            self.say("Preview the sale first: enter the amount and press Enter.")
            self.query_one("#value" if self.target is not None else "#find", Input).focus()
            return
        if not event.value:
            self.query_one("#field-pin", LabeledField).show_error("Enter your payment password.")
            return
        self.query_one("#field-pin", LabeledField).show_error(None)
        # A database failure rolls the sale back: nothing was sold, and Enter may try again.
        call_service(self, take_payment, self._request(), event.value, group="sell", busy="Selling...",
                     on_success=self._sold, on_error=self._sale_failed,
                     unexpected="The sale did not go through ({kind}); nothing was recorded. Press Enter to try again.")

    def _sale_failed(self, error: StronError) -> None:
        from stron_tui.services.vending import PriceChanged

        pin = self.query_one("#pin", Input)
        pin.value = ""
        if isinstance(error, PriceChanged):
            self._drop_preview()
            self.query_one("#value", Input).focus()
        if show_field_errors(self, error, fields=self.FIELDS, focus=False) is None and isinstance(error, ValidationError):
            self.query_one("#field-pin", LabeledField).show_error(error.message)  # a rule about this sale
        self.say(error.message)
        if isinstance(error, STOPPING_ERRORS):
            self.app.notify(error.message, severity="error", markup=False)

    def _sold(self, receipt) -> None:
        """The receipt replaces the preview in place: no new screen to paint over a slow link."""
        from stron_tui.exports.receipts import render_text
        from stron_tui.domain.tokens import grouped

        self.action_new_sale(focus=False)
        self.receipt = receipt
        panel = self.query_one("#topup-right", VerticalScroll)
        width = receipt_view_width(panel.size.width - 3)
        head = []
        if receipt.key_change_tokens:
            head.append(f"KEY CHANGE FIRST: {len(receipt.key_change_tokens)} tokens, in order (below)")
        if receipt.free_token:
            head.append(f"FREE UNITS FIRST: {grouped(receipt.free_token)}")
        head.append(f"TOKEN {grouped(receipt.token)}" if receipt.token else "DEBT PAYMENT: no token")
        self.query_one("#target", Static).update("\n".join(head))
        self.query_one("#preview", Static).update(render_text(receipt, width))
        self.say(f"Sold: receipt {receipt.receipt_number}. P prints, S saves, Enter starts the next sale.")
        panel.can_focus = True
        panel.scroll_home(animate=False)
        panel.focus()
        self.refresh_bindings()

    def action_print_receipt(self) -> None:
        if self.receipt is None:
            return
        printer = getattr(self.app, "print_receipt", None)
        if printer is None:
            self.notify("Printing is not available here; press S to save the receipt.", severity="warning")
            return
        printer(self.receipt)  # prints only where the station prints; else saves it and says where

    def action_save_receipt(self) -> None:
        if self.receipt is not None:
            from screens.topup.receipt import save_receipt_files

            save_receipt_files(self, self.receipt)


    def action_reprint(self) -> None:
        self.app.open_entry("topup.reprint")


    _waiting_for_shift = False  # the breakdown was refused for want of an open shift

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self._waiting_for_shift:
            # Back from My Shift: "open a shift first" was about then; the sale typed before goes on (or the
            # same refusal comes again if no shift was opened).
            self._waiting_for_shift = False
            self.say("")
            if self.target is not None and self.receipt is None and self.query_one("#value", Input).value.strip():
                self._preview(self._request())

    # Keys ---------------------------------------------------------------------

    def action_refresh_target(self) -> None:
        if self.target is not None:
            self._load_target(self.target.meter_number, refresh=True)

    def action_switch_mode(self) -> None:
        self.mode = {"amount": "units", "units": "debt", "debt": "amount"}[self.mode]
        self.query_one("#topup-title", Static).update(self._title())
        self.query_one("#field-value", LabeledField).query_one("Label").update(self._value_label())
        if self.quote is not None:
            self.say({"units": "Switched to top-up by units", "amount": "Switched to top-up by amount",
                       "debt": "Switched to debt payment"}[self.mode]
                      + ": press Enter on the value to see the new breakdown.")
        self._drop_preview()

    def action_back(self) -> None:
        """Esc leaves the Top-up Center; with a sale open it asks first (F9 clears it instead)."""
        if not self.sale_in_progress():
            self.app.pop_screen()
            return
        from widgets.confirm import ConfirmScreen

        what = f"meter {self.target.meter_number}" if self.target is not None else "the typed search"
        amount = self.query_one("#value", Input).value.strip()

        def answered(leave: bool | None) -> None:
            if leave:
                self.app.pop_screen()

        self.app.push_screen(ConfirmScreen(
            "Leave the Top-up Center and drop the sale in progress?",
            f"The sale {f'of {amount} ' if amount else ''}for {what} is not finished; nothing was sold. "
            "Press n to go back to it."),
            answered)

    def action_next_sale(self) -> None:
        self.action_new_sale()
        self.enter_handled()  # the keys typed after this Enter go on into the meter field

    def action_new_sale(self, focus: bool = True) -> None:
        """F9: an explicit new sale (clears the fields); also after each sale."""
        dropped = focus and self.sale_in_progress()
        self.receipt = None
        self.target = None
        self.request_id = ""
        self._drop_preview()
        for selector in ("#find", "#value", "#pin"):
            field = self.query_one(selector, Input)
            with field.prevent(Input.Changed):
                field.value = ""
        for name in ("find", "value", "pin"):
            self.query_one(f"#field-{name}", LabeledField).show_error(None)
        self.query_one("#matches", OptionList).display = False
        self._set_choice("#payment-type", self._default_payment_type())
        self._set_choice("#currency", self._default_currency())
        self.query_one("#target", Static).update("Find a meter to begin.")
        panel = self.query_one("#topup-right", VerticalScroll)
        panel.can_focus = False
        self.refresh_bindings()
        if focus:
            self.say("New sale: the previous entries were cleared; nothing was sold." if dropped else "")
            self.query_one("#find", Input).focus()


def preview_sale(ctx, actor, request):
    """The breakdown of the sale typed: a top-up's quote, or a debt payment's."""
    if request.mode == "debt":
        from stron_tui.services import debt

        return debt.preview_payment(ctx, actor, request.meter_number, request.value)
    from stron_tui.services import vending

    return vending.preview(ctx, actor, request)


def take_payment(ctx, actor, request, password: str):
    """Sell the sale typed (or take the debt payment), confirmed by the payment password: the receipt."""
    if request.mode == "debt":
        from stron_tui.services import debt

        return debt.pay_debt(ctx, actor, request.meter_number, request.value, request_id=request.request_id,
                             payment_password=password, payment_type=request.payment_type)
    from stron_tui.services import vending

    return vending.vend(ctx, actor, request, payment_password=password)


class TopUpByUnitScreen(TopUpScreen):
    def __init__(self):
        super().__init__(mode="units")


def revenue_lines(quote, money) -> list[str]:
    """The preview's split of the payment: debt, fixed charges, energy per block (none on a plain flat sale)."""
    lines = []
    if quote.debt_recovered or quote.debt_after:
        lines.append(f"Debt        {money(quote.debt_recovered, quote.currency)}"
                     f" (still owed {money(quote.debt_after, quote.currency)})")
    if quote.fixed_charge:
        months = quote.fixed_charge_months
        lines.append(f"Fixed chg   {money(quote.fixed_charge, quote.currency)} ({months} month{'s' * (months != 1)})")
    if lines or len(quote.blocks) > 1:
        lines.append(f"Energy      {money(quote.energy_amount, quote.currency)}")
    if len(quote.blocks) > 1:
        lines += [f"  block {line.position}: {line.units} {quote.unit} x {line.price_all_in.normalize():f}"
                  f" = {money(line.amount, quote.currency)}" for line in quote.blocks]
    return lines
