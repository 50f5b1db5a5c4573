"""A dropdown with type-ahead: the letters typed on it pick the option, open or closed."""

from __future__ import annotations

import time

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import Select

from stron_tui.domain.text import plain

TYPE_AHEAD_PAUSE = 0.8  # seconds after which the next letter starts a new search


def option_label(prompt) -> str:
    return prompt.plain if isinstance(prompt, Text) else str(prompt)


class Picker(Select):
    """A Select that takes type-ahead while closed too, as the record pickers do.

    Letters typed in quick succession find the first option whose label starts
    with them (case and accents aside; else one with a word starting so); the same letter
    again goes on to the next option starting with it. Enter after letters
    takes the option and moves on; otherwise Space, Enter and the arrows open
    the list, where Textual's own search works as before. While letters are
    being typed (`typing`), a screen should not move the focus away.
    """

    BINDINGS = [Binding("enter", "enter", "Choose", show=False, id="picker.choose")]

    def __init__(self, options, **kwargs):
        kwargs.setdefault("compact", True)  # one line: fits 80x24
        super().__init__(options, **kwargs)
        self._typed = ""
        self._typed_at = 0.0
        self.typing = False  # an option was chosen by letters and Enter or Tab has not taken it yet

    def action_enter(self) -> None:
        if self.typing and not self.expanded:
            self.typing = False
            self.screen.focus_next()
        else:
            self.action_show_overlay()

    def _on_blur(self, event: events.Blur) -> None:
        self.typing = False

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        # Letters typed here are the picker's: a screen's one-letter keys don't fire while it has focus.
        return character is not None and character.isprintable() and character != " "

    def _on_key(self, event: events.Key) -> None:
        character = event.character
        if self.expanded or character is None or not character.isprintable() or character == " ":
            return
        event.stop()
        event.prevent_default()
        now = time.monotonic()
        typed = self._typed + character if now - self._typed_at < TYPE_AHEAD_PAUSE else character
        self._typed_at = now
        index = self._match(typed)
        if index is None:
            self.app.bell()  # nothing starts so: the choice stays, and the cashier hears it
            return
        self._typed = typed
        self.typing = True
        value = self._options[index][1]
        if value != self.value:
            self.value = value

    def _match(self, typed: str) -> int | None:
        """The option for what was typed: a repeated single letter moves on among the options starting with it."""
        labels = [(index, plain(option_label(prompt))) for index, (prompt, value) in enumerate(self._options)
                  if value != self.NULL]
        query = plain(typed)
        repeat = len(set(query)) == 1 and len(query) > 1
        if repeat:
            query = query[0]
        starting = [index for index, label in labels if label.startswith(query)]
        if starting:
            if len(query) == 1:
                current = next((i for i, (_, value) in enumerate(self._options) if value == self.value), -1)
                return next((index for index in starting if index > current), starting[0])
            return starting[0]
        # Else a later word of the label ("manager" in "Shop manager"); never a letter inside a word, which
        # would pick an option the cashier did not mean ("s" choosing "Administrator").
        return next((index for index, label in labels if any(word.startswith(query) for word in label.split())),
                    None)
