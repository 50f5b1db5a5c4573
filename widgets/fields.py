"""Input widgets tuned for slow links: no blinking cursor, errors beside the field."""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Callable, Sequence

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.reactive import Reactive
from textual.suggester import SuggestFromList, Suggester
from textual.widgets import Input, Label, Static


def pasted_line(text: str) -> str:
    """What a paste puts into a one-line field: the first line with text, without control
    characters or the blanks around it (a copied cell or receipt line often ends in a newline)."""
    for line in text.splitlines():
        kept = "".join(ch for ch in line if unicodedata.category(ch) != "Cc" or ch == "\t").replace("\t", " ")
        if kept.strip():
            return kept.strip()
    return ""


# Input's own keys (not the scrolling ones it inherits: Up/Down are the screens'), but Enter.
_EDITING_KEYS = {key.strip(): binding.action for binding in Input.BINDINGS for key in binding.key.split(",")
                 if key.strip() != "enter"}


class TextInput(Input):
    """An Input whose cursor does not blink (a blink repaints twice a second over SSH).

    Nothing typed or pasted is dropped without a word: what would pass the
    field's length is refused with "too long" beside the field.
    """

    # Input sets its virtual size on every key; Textual's default re-lays out the whole screen for that
    # (a few tens of ms per key with a full form, over SSH with many stations the echo's main cost). A
    # one-line field's scrolling reads the virtual size directly and needs a repaint only.
    virtual_size = Reactive(Size(0, 0), layout=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("compact", True)  # one line instead of three: fits 80x24
        super().__init__(*args, **kwargs)
        self.cursor_blink = False

    typed = False  # the operator typed or pasted here (not a value the screen set): Esc on a form asks first

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable or event.key in ("backspace", "delete"):
            self.typed = True
        # Keys typed after Enter wait for its answer, which may move the focus on (StronScreen.hold_key).
        hold_key = getattr(self.screen, "hold_key", None)
        if hold_key is not None and hold_key(self, event):
            event.stop()
            event.prevent_default()
            return
        # The field's editing keys (Backspace, Delete, arrows, Home, End, ...) act here, in turn with the
        # characters: as bindings they would act only once the key has bubbled up to the app, after the
        # characters typed behind it in the same burst ("12", Backspace, "3" would give 12, not 13).
        # Enter stays a binding: the screens' type-ahead (hold_key) and their own Enter keys rely on it.
        action = _EDITING_KEYS.get(event.key)
        if action is not None:
            event.stop()
            event.prevent_default()
            await self.run_action(action)

    def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()  # Input's own handler would insert it a second time
        text = pasted_line(event.text)
        if not text:
            return
        self.typed = True
        start, end = sorted(self.selection)
        if self.max_length and len(self.value) - (end - start) + len(text) > self.max_length:
            self._refuse(f"Too long: this field takes at most {self.max_length} characters "
                         f"(the pasted text has {len(text)}).")
            return
        self.replace(text, start, end)

    def restricted(self) -> None:
        if self.max_length and len(self.value) >= self.max_length:
            self._refuse(f"Too long: this field takes at most {self.max_length} characters.")
        else:
            super().restricted()

    def _refuse(self, message: str) -> None:
        self.app.bell()
        field = self.parent
        if isinstance(field, LabeledField):
            field.show_error(message)
        else:
            self.notify(message, severity="warning")


class LookupSuggester(Suggester):
    """Type-ahead for a field that names a record: `lookup(prefix)` (a database call, run off the UI
    thread) gives the first name starting with what was typed, or None."""

    def __init__(self, lookup: Callable[[str], str | None]):
        super().__init__(use_cache=True, case_sensitive=False)
        self._lookup = lookup

    async def get_suggestion(self, value: str) -> str | None:
        if not value.strip():
            return None
        suggestion = await asyncio.to_thread(self._lookup, value)
        # The record's own spelling (Enter takes it); it must continue what was typed.
        return suggestion if suggestion and suggestion.lower().startswith(value.lower()) else None


def choice_suggester(choices: Sequence[str]) -> Suggester:
    """Type-ahead over a fixed list (meter types, statuses)."""
    return SuggestFromList(choices, case_sensitive=False)


def accept_suggestion(field: Input) -> None:
    """Enter takes the suggested name, as a picker would, before moving on."""
    suggestion = getattr(field, "_suggestion", "")
    if suggestion and suggestion.lower().startswith(field.value.lower()) and suggestion != field.value:
        field.value = suggestion
        field.cursor_position = len(suggestion)


class LabeledField(Vertical):
    """A label, an input and a line for the error message about that input.

    The error goes as soon as the input changes: it was about what stood there before.
    """

    DEFAULT_CSS = """
    LabeledField { height: auto; margin: 0 0 1 0; }
    LabeledField > Input { width: 100%; }
    LabeledField > Label { color: $text-muted; width: 100%; }  /* a long label wraps, never cut */
    LabeledField > .field-error { color: $error; height: auto; }
    LabeledField > .field-error.-empty { display: none; }
    """

    def __init__(self, label: str, input_widget: Input, *, id: str | None = None):
        super().__init__(id=id)
        self._label = label
        self.input = input_widget

    def compose(self) -> ComposeResult:
        yield Label(self._label)
        yield self.input
        yield Static("", classes="field-error -empty", markup=False)  # messages quote what was typed

    @property
    def error(self) -> str:
        """The error shown now ("" when none)."""
        return getattr(self, "_error", "")

    def show_error(self, message: str | None) -> None:
        self._error = message or ""
        self._error_value = self.input.value  # the text the message is about
        error = self.query_one(".field-error", Static)
        error.update(f"! {message}" if message else "")
        error.set_class(not message, "-empty")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input is self.input and self.error and event.value != self._error_value:
            self.show_error(None)
