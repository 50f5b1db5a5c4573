"""The screen for a function this version does not have yet; it says so plainly."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import StronScreen


class NotBuiltScreen(StronScreen):
    def __init__(self, title: str, description: str):
        super().__init__()
        self._title = title
        self._description = description

    def compose_body(self) -> ComposeResult:
        yield Static(self._title, classes="screen-title", markup=False)
        yield Static(
            f"{self._description}.\n\nThis function is not built yet in this version of stron-tui.\n"
            "Press Esc to go back.",
            classes="notice",
            markup=False,
        )
