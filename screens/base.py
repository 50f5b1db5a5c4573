"""What every screen shares: a title, the status line and the Footer with the keys."""

from __future__ import annotations

import asyncio

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

from widgets.status_line import StatusLine


# Keys typed after Enter that are held while its answer is pending: what a field would take.
HELD_KEYS = ("enter", "backspace", "tab", "shift+tab")
# Enter opens a window in which the call it starts (if any) is tied to the keys typed after it; the
# window closes when the screen has handled the Enter (`enter_handled`), or after this long, a safety
# net for a field whose Enter never reaches the screen.
HOLD_WINDOW = 2.0  # seconds


class KeyHold:
    """Keys typed after Enter in `origin` while the answer to that Enter is pending."""

    def __init__(self, origin: Widget):
        self.origin = origin
        self.keys: list[events.Key] = []
        self.window_open = True  # a call started now waits for its answer before the keys go on
        self.pending = 0  # calls whose answer the keys wait for
        self.claimed = False  # a call was started for this Enter
        self.failed = False  # one of them answered with an error
        self.releasing = False
        self.window_timer = None  # closes the window if the screen never sees the Enter's Submitted


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

    # A form: Esc asks before it drops what the operator typed into it and did not save (leave_asking).
    ASKS_BEFORE_DROPPING = False

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            if self.ASKS_BEFORE_DROPPING:
                self.leave_asking(self.app.pop_screen)
            else:
                self.app.pop_screen()

    def typed_unsaved(self) -> bool:
        """Text the operator typed into this screen's fields and that is still there (leaving drops it)."""
        from widgets.fields import TextInput

        return any(field.typed and field.value.strip() for field in self.query(TextInput))

    def leave_asking(self, leave, question: str = "Leave this form and drop what you typed?") -> None:
        """Esc on a form: `leave()` at once when nothing typed would be lost, else after a yes."""
        if not self.typed_unsaved():
            leave()
            return
        from widgets.confirm import ConfirmScreen

        self.app.push_screen(ConfirmScreen(question, "What you typed here is not saved. Press n to go back to it."),
                             lambda yes: leave() if yes else None)

    # Keys typed after Enter ----------------------------------------------------
    # Enter often starts a call (a meter look-up, a preview) whose answer moves the focus on. Keys typed
    # before the answer (quickly, or bunched over a slow link) are held and replayed, in order, into the
    # field the answer focused. If the answer is an error, or leaves the focus where Enter was pressed,
    # the step did not move on: the keys are not used and the cashier is told so (typed into the field
    # of Enter they would change what was just looked up, e.g. a meter number).

    _key_hold: KeyHold | None = None

    @property
    def holding_keys(self) -> bool:
        """Keys typed after an Enter are waiting for its answer (or about to be replayed)."""
        return self._key_hold is not None

    def hold_key(self, field: Input, event: events.Key) -> bool:
        """Called by a field for each key it gets: True when the key is held (the field must not take it)."""
        hold = self._key_hold
        if hold is not None and (event.is_printable or event.key in HELD_KEYS):
            hold.keys.append(event)
            return True
        if event.key == "enter" and hold is None:
            self._key_hold = hold = KeyHold(field)
            hold.window_timer = self.set_timer(HOLD_WINDOW, lambda: self._close_key_window(hold))
        return False

    def claim_held_keys(self) -> KeyHold | None:
        """A call starts: if it answers an Enter just pressed, the keys typed after it wait for its answer."""
        hold = self._key_hold
        if hold is None or not hold.window_open:
            return None
        hold.pending += 1
        hold.claimed = True
        return hold

    def answer_arrived(self, hold: KeyHold, succeeded: bool) -> None:
        hold.pending -= 1
        hold.failed = hold.failed or not succeeded
        self._release_keys(hold)

    def enter_handled(self) -> None:
        """The Enter was acted on: any call it started has claimed the keys typed after it."""
        if self._key_hold is not None:
            self._close_key_window(self._key_hold)

    # These run after the screen's own handlers of the Enter (Textual calls a subclass's first).
    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.enter_handled()

    def on_report_filter_bar_submitted(self, event) -> None:
        self.enter_handled()  # the filter bar's Enter, passed on by it as its own message

    def _close_key_window(self, hold: KeyHold) -> None:
        if hold.window_timer is not None:
            hold.window_timer.stop()  # a pending one-shot timer would also hold up tests' settle()
            hold.window_timer = None
        if hold.window_open:
            hold.window_open = False
            self._release_keys(hold)

    def _release_keys(self, hold: KeyHold) -> None:
        if hold.pending or hold.window_open or hold.releasing:
            return
        hold.releasing = True
        # After the answer's focus change has taken effect (Widget.focus is itself a call_later of the app's:
        # this one comes after it) and been drawn; keys arriving meanwhile are still held.
        self.app.call_later(self.call_after_refresh, self._replay_keys, hold)

    def _replay_keys(self, hold: KeyHold) -> None:
        if self._key_hold is not hold:
            return
        self._key_hold = None
        if not hold.keys:
            return
        target = self.app.focused
        if hold.failed or target is None or (hold.claimed and target is hold.origin):
            typed = sum(1 for key in hold.keys if key.is_printable)
            self.notify(f"Not used: {typed} character{'s' * (typed != 1)} typed after Enter, as that step "
                        "did not go on. Type them again where needed.", severity="warning", markup=False)
            return
        for key in hold.keys:
            replayed = events.Key(key.key, key.character)
            replayed.set_sender(self.app)  # as from the terminal: it bubbles up to the app's bindings (Enter)
            target._forward_event(replayed)
