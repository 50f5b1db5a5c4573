"""Price Library: a tariff's versions (effective-from, fixed charge, blocks), and a new one entered ahead.

A version in force or past is read-only (sales were priced with it); a price
change is a new version dated ahead, which takes effect by itself.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Static

from screens.base import StronScreen
from screens.calls import call_service
from stron_tui.services import tariffs
from stron_tui.errors import StronError, ValidationError
from stron_tui.domain.text import printable
from widgets.cells import plain_cells
from widgets.confirm import ConfirmScreen
from widgets.fields import LabeledField, TextInput

BLOCK_ROWS = 4  # blocks a version may be entered with here (the Excel import takes more)


def terms_text(values: dict) -> str:
    """The tariff's own revenue settings: VAT on the charge, accrual, caps (edited with e in the library)."""
    def cap(name: str) -> str:
        value = values.get(name)
        return "-" if value is None else f"{value.normalize():f}"

    months = values.get("charge_accrue_months") or 0
    return (f"Before its first version: {values['price_per_unit'].normalize():f} {values['currency_code']}/"
            f"{values['unit']} flat.  VAT on fixed charge: {'yes' if values.get('fixed_charge_vat') else 'no'}; "
            f"unpaid charge {'accrues ' + str(months) + ' month(s)' if months else 'lapses each month'}.\n"
            f"Caps: units/day {cap('cap_units_day')}, units/month {cap('cap_units_month')}, "
            f"money/day {cap('cap_money_day')}, money/month {cap('cap_money_month')}.")


class TariffVersionsScreen(StronScreen):
    """The versions of one tariff, newest first: scheduled, in force or past."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("n", "new", "New version", id="tariffs.new-version"),
        Binding("delete", "withdraw", "Withdraw", id="tariffs.withdraw-version"),
    ]
    DEFAULT_CSS = """
    TariffVersionsScreen #versions { height: 1fr; }
    TariffVersionsScreen #version-detail { height: auto; padding: 0 1; }
    TariffVersionsScreen #version-terms { height: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, record_id: int):
        super().__init__()
        self.record_id = record_id
        self.tariff: dict | None = None
        self.listed = []
        self.TITLE_TEXT = "Price Library: versions"

    def compose_body(self) -> ComposeResult:
        table = DataTable(id="versions", cursor_type="row")
        table.add_columns("From (local)", "Status", "Fixed charge", "Blocks (units a month at price)")
        yield table
        yield Static("Loading...", id="version-detail", markup=False)
        yield Static("", id="version-terms", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#versions", DataTable).focus()
        self._load()

    @work(thread=True, exclusive=True, group="versions")
    def _load(self) -> None:
        from stron_tui.services import libraries as L

        try:
            record = L.get(self.app.ctx, self.app.actor, "tariffs", self.record_id)
            listed = tariffs.versions(self.app.ctx, self.app.actor, record.values["name"])
        except StronError as error:
            self.app.call_from_thread(self._say, str(error))
            return
        self.app.call_from_thread(self._show, dict(record.values), listed)

    def _show(self, values: dict, listed) -> None:
        from stron_tui.services.tariffs import blocks_text

        self.tariff, self.listed = values, listed
        self.query_one(".screen-title", Static).update(f"Price Library: versions of {values['name']}")
        table = self.query_one("#versions", DataTable)
        table.clear()
        for version in listed:
            table.add_row(*plain_cells(version.local_from, version.status, f"{version.fixed_charge:,.2f}",
                                       blocks_text(version.blocks)), key=str(version.id))
        self.query_one("#version-terms", Static).update(printable(terms_text(values), keep_newlines=True))
        self._say(f"{len(listed)} version(s). n enters a new one, dated ahead; Del withdraws a scheduled one; "
                  "versions in force or past are read-only." if listed else
                  "No versions yet: every sale uses the flat price. n enters the first version.")

    def _say(self, text: str) -> None:
        self.query_one("#version-detail", Static).update(text)

    @on(DataTable.RowHighlighted, "#versions")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        from stron_tui.services.tariffs import blocks_text

        version = next((v for v in self.listed if str(v.id) == event.row_key.value), None)
        if version is None or self.tariff is None:
            return
        lock = "" if version.status == "scheduled" else " (read-only: sales were priced with it)"
        self._say(f"From {version.local_from}, {version.status}{lock}: fixed charge {version.fixed_charge:,.2f} "
                  f"{self.tariff['currency_code']} a month; {blocks_text(version.blocks)}.")

    def check_action(self, action: str, parameters) -> bool | None:
        if action in ("new", "withdraw"):  # only those who may edit tariffs see the keys (the service checks again)
            return self.app.actor is not None and self.app.actor.can("basedata.tariffs.edit")
        return True

    def action_withdraw(self) -> None:
        table = self.query_one("#versions", DataTable)
        if self.tariff is None or not self.listed or table.cursor_row is None:
            return
        version = self.listed[min(table.cursor_row, len(self.listed) - 1)]
        if version.status != "scheduled":
            self._say(f"The version from {version.local_from} is {version.status} and stays in the history: sales "
                      "were priced with it. Enter a new version dated ahead instead.")
            return
        name = self.tariff["name"]

        def answered(yes: bool | None) -> None:
            if yes:
                call_service(self, tariffs.withdraw_version, name, version.id, busy="Withdrawing...",
                             group="versions-change", on_success=self._withdrawn,
                             on_error=lambda error: self._say(error.message))

        self.app.push_screen(ConfirmScreen("Withdraw version", f"Withdraw the version of {name} from "
                                           f"{version.local_from}? It has not taken effect; sales keep the "
                                           "version in force."), answered)

    def _withdrawn(self, version) -> None:
        self._load()
        self.app.notify(f"Version from {version.local_from} withdrawn.", markup=False)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_new(self) -> None:
        if self.tariff is None:
            return
        self.app.push_screen(NewVersionScreen(self.tariff["name"], self.tariff["currency_code"]), self._added)

    def _added(self, version) -> None:
        if version is not None:
            self._load()


class NewVersionScreen(StronScreen):
    """A new version of a tariff: when it starts (local time), its monthly fixed charge and its blocks."""

    BINDINGS = [
        Binding("escape", "back", "Cancel", id="back"),
        Binding("ctrl+s", "save", "Save", id="tariffs.save-version"),
    ]
    DEFAULT_CSS = """
    NewVersionScreen #version-fields { height: 1fr; padding: 0 2; }
    NewVersionScreen .block-row { height: auto; }
    NewVersionScreen .block-row LabeledField { width: 1fr; margin: 0 1 0 0; }
    NewVersionScreen #version-message { height: auto; padding: 0 2; color: $warning; }
    """

    def __init__(self, tariff_name: str, currency: str):
        super().__init__()
        self.tariff_name = tariff_name
        self.currency = currency
        self.TITLE_TEXT = f"Price Library: new version of {tariff_name}"

    def compose_body(self) -> ComposeResult:
        yield Static("Blocks price the account's units of the calendar month; leave the last block's bound "
                     "blank. Enter moves on; Ctrl+S saves.", classes="hint", markup=False)
        with VerticalScroll(id="version-fields"):
            with Horizontal(classes="block-row"):
                yield LabeledField("From (local: YYYY-MM-DD HH:MM)",
                                   TextInput(id="input-effective_from", max_length=20), id="field-effective_from")
                yield LabeledField(f"Fixed charge a month ({self.currency})",
                                   TextInput("0", id="input-fixed_charge", max_length=20), id="field-fixed_charge")
            for number in range(1, BLOCK_ROWS + 1):
                with Horizontal(classes="block-row"):
                    yield LabeledField(f"Block {number} up to (units)", TextInput(
                        id=f"input-blocks-{number}-up_to", max_length=20), id=f"field-blocks-{number}-up_to")
                    yield LabeledField(f"Block {number} price per unit", TextInput(
                        id=f"input-blocks-{number}-price", max_length=20), id=f"field-blocks-{number}-price")
        yield Static("", id="version-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#input-effective_from", Input).focus()

    def field_names(self) -> list[str]:
        names = ["effective_from", "fixed_charge"]
        for number in range(1, BLOCK_ROWS + 1):
            names += [f"blocks-{number}-up_to", f"blocks-{number}-price"]
        return names

    def action_back(self) -> None:
        self.leave_asking(lambda: self.dismiss(None))

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        names = self.field_names()
        current = (event.input.id or "").removeprefix("input-")
        if current in names and names.index(current) < len(names) - 1:
            self.query_one(f"#input-{names[names.index(current) + 1]}", Input).focus()
        else:
            self.action_save()

    def value(self, name: str) -> str:
        return self.query_one(f"#input-{name}", Input).value

    def blocks(self) -> list[tuple[str, str]]:
        """The typed blocks, up to the last row with a price or bound (blank rows after it are not blocks)."""
        rows = [(self.value(f"blocks-{n}-up_to"), self.value(f"blocks-{n}-price")) for n in range(1, BLOCK_ROWS + 1)]
        while rows and not any(text.strip() for text in rows[-1]):
            rows.pop()
        return rows

    def action_save(self) -> None:
        for name in self.field_names():
            self.query_one(f"#field-{name}", LabeledField).show_error(None)
        blocks = self.blocks()
        if not blocks:
            self._refused("blocks-1-price", "Enter at least one block's price (a flat tariff is one block).")
            return
        self.query_one("#version-message", Static).update("Saving...")
        self._save(self.value("effective_from"), self.value("fixed_charge"), blocks)

    @work(thread=True, exclusive=True, group="version")
    def _save(self, starts: str, charge: str, blocks: list[tuple[str, str]]) -> None:
        try:
            version = tariffs.add_version(self.app.ctx, self.app.actor, self.tariff_name, starts, charge, blocks)
        except ValidationError as error:
            self.app.call_from_thread(self._refused, (error.field or "").replace(".", "-"), error.message)
            return
        except StronError as error:
            self.app.call_from_thread(self._refused, "", error.message)
            return
        self.app.call_from_thread(self.dismiss, version)

    def _refused(self, field: str, message: str) -> None:
        if field in self.field_names():
            self.query_one(f"#field-{field}", LabeledField).show_error(message)
            self.query_one(f"#input-{field}", Input).focus()
            self.query_one("#version-message", Static).update("Nothing was saved; correct the marked field.")
        else:
            self.query_one("#version-message", Static).update(message)
