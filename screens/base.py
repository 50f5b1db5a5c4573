"""What every screen shares: a title, the status line and the Footer with the keys."""

from __future__ import annotations

import asyncio

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from widgets.status_line import StatusLine


class StronScreen(Screen):
    """A full screen (not a dimmed modal: a plain screen costs half the bytes over SSH)."""

    TITLE_TEXT = ""
    # The Static that carries the screen's one-line messages (progress, results, errors not about a field).
    MESSAGE_ID = ""
    # F1 comes first on every footer: the footer holds the most used keys, F1 lists them all.
    BINDINGS = [Binding("escape", "back", "Back", id="back"), Binding("f1", "app.show_keys", "Keys", id="app.keys")]

    def compose(self) -> ComposeResult:
        if self.TITLE_TEXT:
            yield Static(self.TITLE_TEXT, classes="screen-title", markup=False)
        yield from self.compose_body()
        with Vertical(id="bottom-bar"):
            yield StatusLine(id="status-line")
            yield Footer(show_command_palette=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def load_before_compose(self) -> None:
        """What the screen must read before it can be composed (a reference list, the password state).

        Runs in a worker thread, never on the UI thread; composing waits for it (keys queue meanwhile).
        """

    async def _on_compose(self, event: events.Compose) -> None:
        if type(self).load_before_compose is not StronScreen.load_before_compose:
            await asyncio.to_thread(self.load_before_compose)
        await super()._on_compose(event)

    def on_mount(self) -> None:
        self.refresh_status()

    def on_screen_resume(self) -> None:
        self.refresh_status()

    def refresh_status(self) -> None:
        status = self.query(StatusLine)
        if status:
            self.app.show_status(status.first())

    said = ""  # what `say` shows now

    def say(self, text: str) -> None:
        """Show a message on the screen's message line (a notification where it has none)."""
        if self.MESSAGE_ID and text == self.said:
            return  # every key clears the message: the same text again must not cost a layout per key
        self.said = text
        if self.MESSAGE_ID:
            self.query_one(f"#{self.MESSAGE_ID}", Static).update(text)
        elif text:
            self.notify(text, markup=False)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
