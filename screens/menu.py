"""The main menu of modules and each module's menu of functions."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from screens.base import StronScreen
from screens.registry import entries_for
from stron_tui.services.permissions import MODULES, MODULES_BY_KEY


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
        Binding("escape", "app.logout", "Log out", show=False, id="menu.logout-escape"),
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
        yield Static("", id="last-receipts", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#modules", OptionList).focus()
        if self.app.actor.can("topup.reprint"):
            self._last_receipts()

    @work(thread=True, exclusive=True, group="last-receipts")
    def _last_receipts(self) -> None:
        """After a dropped link the cashier sees at once whether the last sale went through.

        Plain text on the menu, not a toast: a toast's timer would repaint later over a slow link.
        """
        from stron_tui.services.receipts import recent_receipts

        receipts = recent_receipts(self.app.ctx, self.app.actor, limit=3)
        if not receipts:
            return
        lines = ["Your last receipts (F2, then F8 reprints):"] + [
            f"  {r.receipt_number:<15} {r.local_time}  {r.meter_number}  {r.gross} {r.currency}" for r in receipts
        ]
        self.app.call_from_thread(self.query_one("#last-receipts", Static).update, "\n".join(lines))

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
        yield OptionList(
            *[
                Option(f"{index}  {entry.title:<28} {entry.description}", id=entry.key)
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
