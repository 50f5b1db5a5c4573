"""The dropdown picker: letters typed on it, closed, choose the option, as the record pickers do."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Select

from widgets.picker import Picker

ROLES = ["Administrator", "Auditor", "OnlyVending", "Supervisor", "Ṣọ̀ọ̀bù manager"]


class PickerApp(App):
    BINDINGS = [Binding("n", "new", "New")]  # a screen's one-letter key must not fire while the picker has focus

    def __init__(self):
        super().__init__()
        self.new_pressed = 0

    def compose(self) -> ComposeResult:
        yield Picker([(name, name) for name in ROLES], prompt="Choose a role", id="role")

    def on_mount(self) -> None:
        self.query_one(Picker).focus()

    def action_new(self) -> None:
        self.new_pressed += 1


async def test_typing_on_a_closed_picker_chooses_the_matching_option():
    app = PickerApp()
    async with app.run_test() as pilot:
        picker = app.query_one(Picker)
        assert picker.value is Select.NULL
        await pilot.press("o")
        assert picker.value == "OnlyVending"
        assert not picker.expanded  # chosen in place; Tab moves on
        await pilot.press("s")  # a new letter after the pause... typed at once it would continue "os"
        await pilot.pause(0.9)
        await pilot.press("s")
        assert picker.value == "Supervisor"
        await pilot.pause(0.9)
        await pilot.press("s")  # the same letter again: the next option starting with it, accents aside
        assert picker.value == "Ṣọ̀ọ̀bù manager"
        await pilot.pause(0.9)
        await pilot.press("a", "u")  # letters in quick succession narrow the search
        assert picker.value == "Auditor"


async def test_a_letter_nothing_starts_with_changes_nothing_and_keys_stay_with_the_picker():
    app = PickerApp()
    async with app.run_test() as pilot:
        picker = app.query_one(Picker)
        await pilot.press("a", "d")
        assert picker.value == "Administrator"
        await pilot.pause(0.9)
        await pilot.press("q")
        assert picker.value == "Administrator"
        await pilot.pause(0.9)
        await pilot.press("r")  # inside "Administrator" and "Auditor", but no role starts with it
        assert picker.value == "Administrator"
        await pilot.pause(0.9)
        await pilot.press("m", "a", "n")  # a later word of a label
        assert picker.value == "Ṣọ̀ọ̀bù manager"
        await pilot.press("n")  # no role holds an n first... but "n" is the picker's, not the app's "new"
        assert app.new_pressed == 0
        await pilot.press("space")  # Space (and Enter before any letter) still opens the list
        assert picker.expanded


async def test_enter_after_letters_takes_the_option_and_moves_on():
    class TwoFields(PickerApp):
        def compose(self) -> ComposeResult:
            yield from super().compose()
            yield Input(id="next")

    from textual.widgets import Input

    app = TwoFields()
    async with app.run_test() as pilot:
        picker = app.query_one(Picker)
        await pilot.press("a")
        assert picker.typing and picker.value == "Administrator"
        await pilot.pause(0.9)
        await pilot.press("a")  # still on the picker: the same letter goes on to the next option
        assert picker.value == "Auditor" and app.focused is picker
        await pilot.press("enter")
        assert app.focused is app.query_one("#next") and not picker.expanded and picker.value == "Auditor"
