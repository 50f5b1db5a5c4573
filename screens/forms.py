"""The form-screen skeleton: labelled fields filled in order, Enter moves on and saves on the last.

A form names its fields in Enter order (`field_names`); each is a LabeledField `#field-<name>` holding
an Input `#input-<name>`. Enter on a field takes its type-ahead suggestion and moves to the next;
on the last it saves (`action_save`, also Ctrl+S where the form binds it). Errors show beside their
fields (`show_errors`), the rest on the message line (`say`).
"""

from __future__ import annotations

from textual import on
from textual.widgets import Input

from screens.base import StronScreen
from widgets.fields import LabeledField, accept_suggestion


class FormScreen(StronScreen):
    def field_names(self) -> list[str]:
        raise NotImplementedError

    def action_save(self) -> None:
        raise NotImplementedError

    def value(self, name: str) -> str:
        return self.query_one(f"#input-{name}", Input).value

    def values(self) -> dict[str, str]:
        return {name: self.value(name) for name in self.field_names()}

    def focus_field(self, name: str) -> None:
        self.query_one(f"#input-{name}", Input).focus()

    @on(Input.Submitted)
    def _next_or_save(self, event: Input.Submitted) -> None:
        names = self.field_names()
        current = (event.input.id or "").removeprefix("input-")
        if current not in names:
            return
        accept_suggestion(event.input)
        if names.index(current) < len(names) - 1:
            self.focus_field(names[names.index(current) + 1])
        else:
            self.submit()

    def submit(self) -> None:
        """Enter on the last field."""
        self.action_save()

    def show_errors(self, problems: dict[str, str], *, message: str = "Please correct the marked field(s).") -> bool:
        """Each field shows its problem (or none); the first with one takes the focus. True when any had one."""
        for name in self.field_names():
            self.query_one(f"#field-{name}", LabeledField).show_error(problems.get(name))
        shown = [name for name in self.field_names() if name in problems]
        if shown:
            self.focus_field(shown[0])
            if message:
                self.say(message)
        return bool(shown)
