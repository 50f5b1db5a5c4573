"""Supply Groups: add a vending key (typed in hex or generated); keys are never shown again."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from screens.forms import FormScreen
from screens.calls import call_service, show_failure
from stron_tui.errors import StronError
from widgets.cells import plain_cells
from widgets.fields import LabeledField, TextInput

FIELDS = (("sgc", "SGC (6 digits)"), ("krn", "KRN (1-9)"), ("dkga", "DKGA (02 or 04)"), ("label", "Label"),
          ("key", "Vending key in hex (16 digits for DKGA02, 40 for DKGA04); blank + generate = random"),
          ("generate", "Generate a random key (y/n)"))


class SupplyGroupScreen(FormScreen):
    ASKS_BEFORE_DROPPING = True  # Esc asks before it drops what was typed
    TITLE_TEXT = "Supply Groups"
    MESSAGE_ID = "group-message"
    BINDINGS = [Binding("escape", "back", "Back", id="back"), Binding("n", "new", "New", id="supply-groups.new"), Binding("ctrl+s", "save", "Save", id="supply-groups.save")]
    DEFAULT_CSS = """
    SupplyGroupScreen #groups { height: 1fr; }
    SupplyGroupScreen #group-form { height: auto; padding: 0 2; display: none; }
    SupplyGroupScreen #group-form.-open { display: block; }
    SupplyGroupScreen #group-message { height: auto; padding: 0 1; }
    """

    def compose_body(self) -> ComposeResult:
        table = DataTable(id="groups", cursor_type="row")
        table.add_columns("SGC", "KRN", "DKGA", "Label", "Meters", "Active")
        yield table
        with Vertical(id="group-form"):
            for name, label in FIELDS:
                yield LabeledField(label, TextInput(id=f"input-{name}", password=(name == "key"),
                                                    value="02" if name == "dkga" else "1" if name == "krn" else
                                                    "n" if name == "generate" else ""), id=f"field-{name}")
        yield Static("Vending keys are sealed under the master key and never shown again.", id="group-message",
                     markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#groups", DataTable).focus()
        self._load()

    def _load(self) -> None:
        from stron_tui.services.supply_groups import list_supply_groups

        call_service(self, list_supply_groups, group="groups", on_success=self._show)

    def _show(self, groups) -> None:
        table = self.query_one("#groups", DataTable)
        table.clear()
        for group in groups:
            table.add_row(*plain_cells(group.sgc, str(group.krn), group.dkga, group.label, f"{group.meters:,}",
                                      "yes" if group.active else "no"))

    def action_new(self) -> None:
        self.query_one("#group-form").add_class("-open")
        self.query_one("#input-sgc", Input).focus()

    def field_names(self) -> list[str]:
        return [name for name, _ in FIELDS]

    def action_save(self) -> None:
        if not self.query_one("#group-form").has_class("-open"):
            return
        from stron_tui.services.supply_groups import add_supply_group

        values = self.values()
        krn = values["krn"].strip()
        call_service(self, add_supply_group, sgc=values["sgc"], krn=int(krn) if krn.isdigit() else krn,
                     dkga=values["dkga"], label=values["label"], key_hex=values["key"],
                     generate=values["generate"].strip().lower() in ("y", "yes"), group="groups",
                     on_success=self._saved, on_error=self._refused)

    def _refused(self, error: StronError) -> None:
        self.show_errors({})
        show_failure(self, error, say=True)

    def _saved(self, group) -> None:
        self.show_errors({})
        self.query_one("#input-key", Input).value = ""  # the key leaves the screen at once
        self.query_one("#group-form").remove_class("-open")
        self.say(f"Supply group {group.sgc} KRN {group.krn} DKGA{group.dkga} added; its key is sealed.")
        self.query_one("#groups", DataTable).focus()
        self._load()
