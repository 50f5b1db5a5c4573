"""The main menu of modules and each module's menu of functions."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from rich.text import Text

from screens.base import StronScreen
from screens.calls import call_service
from screens.registry import entries_for
from stron_tui.services.permissions import MODULES, MODULES_BY_KEY
from stron_tui.domain.text import printable


def receipt_line(receipt) -> str:
    """One past receipt on one line at 80 columns: number, local time, meter, amount."""
    return printable(f"{receipt.receipt_number:<15} {receipt.local_time}  {receipt.meter_number:<13} "
                     f"{receipt.gross} {receipt.currency}")


class MainMenuScreen(StronScreen):
    """Only the modules the operator may use are listed."""

    BINDINGS = [
        # The modules' function keys come from their one definition (MODULES); a keymap may move them.
        *[
            Binding(module.function_key, f"app.open_module('{module.key}')", module.title, show=False,
                    id=f"module.{module.key}")
            for module in MODULES
        ],
        Binding("p", "app.open_entry('system.password')", "Password", id="menu.password"),
        Binding("f10", "app.logout", "Log out", id="menu.logout"),
        Binding("escape", "log_out", "Log out (asks)", id="menu.logout-escape"),
    ]

    def compose_body(self) -> ComposeResult:
        actor = self.app.actor
        yield Static(f"Main menu: {actor.name or actor.user_code}", classes="screen-title", markup=False)
        modules = actor.visible_modules()
        yield OptionList(
            *[
                Option(f"{self.app.key_display(f'module.{module.key}', module.function_key).upper():>3}  {module.title:<20} "
                       f"{module.description}", id=module.key)
                for module in modules
            ],
            id="modules",
        )
        yield Static(
            "Enter or a function key opens a module; Ctrl+P finds any screen; P changes your password; "
            "F10 logs out.",
            classes="hint",
            markup=False,
        )
        yield Static("", id="last-receipts-title", markup=False)
        yield OptionList(id="last-receipts")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#last-receipts", OptionList).display = False
        self.query_one("#modules", OptionList).focus()
        self._refresh_receipts()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self._refresh_receipts()  # a sale made meanwhile shows at once

    def _refresh_receipts(self) -> None:
        if self.app.actor is not None and self.app.actor.can("topup.reprint"):
            self._last_receipts()

    def _last_receipts(self) -> None:
        """After a dropped link the cashier sees at once whether the last sale went through.

        Plain text on the menu, not a toast: a toast's timer would repaint later over a slow link.
        """
        from stron_tui.services.receipts import recent_receipts

        call_service(self, recent_receipts, limit=3, on_success=self._show_receipts, group="last-receipts")

    def _show_receipts(self, receipts) -> None:
        title = self.query_one("#last-receipts-title", Static)
        options = self.query_one("#last-receipts", OptionList)
        shown = [option.id for option in (options.get_option_at_index(i) for i in range(options.option_count))]
        if shown == [r.receipt_number for r in receipts]:
            return  # nothing new: no repaint
        options.clear_options()
        for r in receipts:
            options.add_option(Option(Text(receipt_line(r)), id=r.receipt_number))  # stored text, never markup
        options.display = bool(receipts)
        options.highlighted = 0 if receipts else None
        title.update("Your last receipts here (Tab, then Enter reprints):" if receipts else "")

    @on(OptionList.OptionSelected, "#last-receipts")
    def _reprint(self, event: OptionList.OptionSelected) -> None:
        self._reprint_receipt(event.option.id)

    def _reprint_receipt(self, number: str) -> None:
        from screens.topup.receipt import ReceiptScreen
        from stron_tui.services.receipts import reprint_receipt

        call_service(self, reprint_receipt, number, group="reprint",
                     on_error=lambda error: self.notify(error.message, severity="error"),
                     on_success=lambda receipt: self.app.push_screen(ReceiptScreen(receipt)))

    def action_log_out(self) -> None:
        """Esc asks first (F10 logs out at once: it says so)."""
        from widgets.confirm import ConfirmScreen

        async def answered(yes: bool | None) -> None:
            if yes:
                await self.app.action_logout()

        self.app.push_screen(ConfirmScreen(f"Log {self.app.actor.user_code} out?", "F10 logs out without asking."), answered)

    @on(OptionList.OptionSelected, "#modules")
    def _open(self, event: OptionList.OptionSelected) -> None:
        self.app.open_module(event.option.id)


class ModuleScreen(StronScreen):
    """A module's functions; number keys open them directly."""

    BINDINGS = [Binding("escape", "back", "Back", id="back")] + [
        Binding(str(number), f"open_number({number})", f"Open function {number}", show=False,
                id=f"menu.open-{number}")
        for number in range(1, 10)
    ]

    def __init__(self, module_key: str):
        super().__init__()
        self.module = MODULES_BY_KEY[module_key]

    def compose_body(self) -> ComposeResult:
        entries = entries_for(self.module.key, self.app.actor)
        self._entries = entries
        yield Static(f"{self.module.title}", classes="screen-title", markup=False)
        width = len(str(len(entries)))  # 10 and more entries: the numbers right-aligned, the titles in line
        yield OptionList(
            *[
                Option(f"{index:>{width}}  {entry.title:<28} {entry.description}", id=entry.key)
                for index, entry in enumerate(entries, start=1)
            ],
            id="functions",
        )
        yield Static("Enter or the number opens a function; Esc goes back.", classes="hint", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#functions", OptionList).focus()

    def action_open_number(self, number: int) -> None:
        if 0 < number <= len(self._entries):
            self.app.open_entry(self._entries[number - 1].key)

    @on(OptionList.OptionSelected, "#functions")
    def _open(self, event: OptionList.OptionSelected) -> None:
        self.app.open_entry(event.option.id)


__all__ = ["MainMenuScreen", "ModuleScreen", "MODULES"]
