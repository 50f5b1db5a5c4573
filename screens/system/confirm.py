"""A plain yes/no question before a change that can't simply be undone."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.widgets import Static

from screens.base import StronScreen


class ConfirmScreen(StronScreen):
    """Y or Enter confirms, N or Esc cancels; dismisses with True or False.

    A plain screen rather than a dimmed modal: half the bytes over a slow link.
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("enter", "answer(True)", "Yes", show=False, id="confirm.yes-enter"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel"),
    ]

    def __init__(self, title: str, question: str):
        super().__init__()
        self._title = title
        self._question = question

    def compose_body(self) -> ComposeResult:
        with Center():
            with Vertical(classes="dialog"):
                yield Static(self._title, classes="dialog-title", markup=False)
                yield Static(self._question, id="question", markup=False)
                yield Static("Y: yes   N or Esc: no", classes="hint", markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
