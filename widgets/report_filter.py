"""A one- or two-line filter bar: compact labelled inputs, Enter in any of them submits.

It knows nothing about reports: the screen names the fields and reads
`values()`; `show_error(field, message)` marks the field and says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from widgets.fields import TextInput


@dataclass(frozen=True)
class FilterField:
    name: str
    label: str
    width: int = 12
    placeholder: str = ""
    value: str = ""


class ReportFilterBar(Vertical):
    DEFAULT_CSS = """
    ReportFilterBar { height: auto; padding: 0 1; }
    ReportFilterBar > Horizontal { height: auto; }
    ReportFilterBar .filter-field { width: auto; height: 2; margin-right: 1; }
    ReportFilterBar .filter-field > Label { color: $text-muted; }
    ReportFilterBar .filter-field.-invalid > Label { color: $error; text-style: bold; }
    ReportFilterBar #filter-error { height: auto; color: $error; }
    ReportFilterBar #filter-error.-empty { display: none; }
    """

    class Submitted(Message):
        def __init__(self, bar: "ReportFilterBar"):
            super().__init__()
            self.bar = bar

    def __init__(self, fields: list[FilterField], *, per_line: int = 6, id: str | None = None):
        super().__init__(id=id)
        self.fields = fields
        self.per_line = per_line

    def compose(self) -> ComposeResult:
        for start in range(0, len(self.fields), self.per_line):
            with Horizontal():
                for field in self.fields[start:start + self.per_line]:
                    with Vertical(classes="filter-field", id=f"field-{field.name}"):
                        yield Label(field.label)
                        box = TextInput(value=field.value, placeholder=field.placeholder, id=f"filter-{field.name}")
                        box.styles.width = field.width
                        yield box
        yield Static("", id="filter-error", classes="-empty", markup=False)

    def values(self) -> dict[str, str]:
        return {field.name: self.query_one(f"#filter-{field.name}", Input).value.strip() for field in self.fields}

    def set_value(self, name: str, value: str) -> None:
        self.query_one(f"#filter-{name}", Input).value = value

    def show_error(self, name: str | None, message: str | None) -> None:
        for field in self.fields:
            self.query_one(f"#field-{field.name}").set_class(field.name == name and bool(message), "-invalid")
        error = self.query_one("#filter-error", Static)
        error.update(f"! {message}" if message else "")
        error.set_class(not message, "-empty")
        if name and message and any(field.name == name for field in self.fields):
            self.query_one(f"#filter-{name}", Input).focus()

    def focus_first(self) -> None:
        if self.fields:
            self.query_one(f"#filter-{self.fields[0].name}", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(self))
