"""The one confirm dialog: a plain screen that names what will happen.

Same keys everywhere, shown in its footer: Y or Enter confirms, N or Esc cancels. Dismisses with
True or False. Full screen, not a dimmed modal: half the bytes over a slow link.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static


class ConfirmScreen(Screen[bool]):
    """`question` heads the dialog; `detail` says what follows from it."""

    # One action per key: the Footer shows one key per action, and each of the four is listed there.
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("enter", "confirm", "Yes", id="confirm.yes-enter"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "cancel", "No", id="confirm.cancel"),
    ]

    def __init__(self, question: str, detail: str = ""):
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-title", id="confirm-question", markup=False)
            if self.detail:
                yield Static(self.detail, classes="hint", id="confirm-detail", markup=False)
            yield Static("Y or Enter: yes.  N or Esc: no.", classes="hint", markup=False)
        yield Footer()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
