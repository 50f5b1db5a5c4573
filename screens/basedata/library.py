"""The library list and form screens shared by all six Base Data libraries.

A library screen is a PagedTable over `libraries.search`; the keys are the
same everywhere: / search, n new, Enter or e edit, d delete (confirm names the
record), x export the current search, i import, t template, o sort.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Input, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from screens.base import StronScreen
from screens.forms import FormScreen
from screens.calls import call_service, from_worker
from screens.paged import PagedTableScreen
from stron_tui.errors import StronError, ValidationError
from stron_tui.services import libraries as L
from widgets.cells import plain_cells
from widgets.confirm import ConfirmScreen
from widgets.fields import LabeledField, LookupSuggester, TextInput, choice_suggester
from widgets.paged_table import TablePage

class LibraryScreen(PagedTableScreen):
    LIBRARY = ""
    TABLE_ID = "library-table"
    MESSAGE_ID = "library-message"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("slash", "search", "Search", id="library.search"),
        Binding("n", "new", "New", id="library.new"),
        Binding("e", "edit", "Edit", id="library.edit"),
        Binding("d", "delete", "Delete", id="library.delete"),
        Binding("x", "export", "Export", id="library.export"),
        Binding("i", "import", "Import", show=False, id="library.import"),
        Binding("t", "template", "Template", show=False, id="library.template"),
        Binding("o", "sort", "Sort", show=False, id="library.sort"),
    ]

    def __init__(self):
        super().__init__()
        self.lib = L.library(self.LIBRARY)
        self.sort = self.lib.default_sort
        self.TITLE_TEXT = f"{self.lib.title}"

    def columns(self) -> list[tuple[str, int]]:
        return [(column.title, column.width) for column in self.lib.list_columns]

    def search_hint(self) -> str:
        return "Search " + ", ".join(spec.label.lower() for spec in self.lib.fields[:2])

    # runs in the table's worker thread
    def fetch(self, text: str, after: Any, backwards: bool) -> TablePage:
        limit = self.page_size(L.PAGE_SIZE)
        page = L.search(self.app.ctx, self.app.actor, self.lib.name, text, sort=self.sort, after=after,
                        backwards=backwards, limit=limit)
        # Counted when the list or search starts over (one count), not on each page turn.
        if after is None or getattr(self, "_total", None) is None or getattr(self, "_counted_text", None) != text:
            self._total = (L.count_matches(self.app.ctx, self.app.actor, self.lib.name, text) if text
                           else L.count(self.app.ctx, self.app.actor, self.lib.name))
            self._counted_text = text
        rows = [(record.id, [self.cell(column.name, record.get(column.name)) for column in self.lib.list_columns])
                for record in page.rows]
        note = "" if page.mode in ("all", "prefix") else "matches anywhere in the text"
        return TablePage(rows, page.has_more, page.first_key, page.last_key, note, total=self._total,
                         page_size=limit, noun=self.lib.name, found=bool(text),
                         total_limit=L.SEARCH_COUNT_LIMIT if text else None)

    def cell(self, name: str, value: Any) -> Any:
        spec = self.lib.fields_by_name.get(name)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return L.as_text(spec, value) if spec else value

    def open_row(self, record_id: int) -> None:
        self.edit(record_id)

    # ------------------------------------------------------------ actions

    def action_sort(self) -> None:
        keys = list(self.lib.sorts)
        self.sort = keys[(keys.index(self.sort) + 1) % len(keys)]
        self.say(f"Sorted by {self.lib.sorts[self.sort][0].lower()}.")
        self.table.reload()

    def action_new(self) -> None:
        # The form comes with the library's suggestions, e.g. the next free customer ID.
        call_service(self, L.new_form, self.lib.name, group="library",
                     on_success=lambda values: self.app.push_screen(RecordFormScreen(self.lib, None, values),
                                                                    self._after_form))

    def action_edit(self) -> None:
        key = self.table.selected_key()
        if key is None:
            self.say("Choose a row first.")
            return
        self.edit(key)

    def edit(self, record_id: int) -> None:
        call_service(self, L.get, self.lib.name, record_id, group="library",
                     on_success=lambda record: self.app.push_screen(
                         RecordFormScreen(self.lib, record, L.form_text(self.lib, record)), self._after_form))

    def _after_form(self, result: L.Record | None) -> None:
        if result is not None:
            self.say(f"Saved {self.lib.describe(result.values)}.")
            self.table.reload()

    def action_delete(self) -> None:
        key = self.table.selected_key()
        if key is None:
            self.say("Choose a row first.")
            return
        call_service(self, L.get, self.lib.name, key, group="library", on_success=self._ask_delete)

    def _ask_delete(self, record: L.Record) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                call_service(self, L.remove, self.lib.name, record.id, group="library", on_success=self._removed)

        self.app.push_screen(ConfirmScreen(f"Remove {self.lib.describe(record.values)}?", "This cannot be undone."),
                             answered)

    def _removed(self, record: L.Record) -> None:
        self.say(f"Removed {self.lib.describe(record.values)}.")
        self.table.reload()

    def action_export(self) -> None:
        from stron_tui.services.excel_io import export_library

        self.export_search(export_library, self.lib.name, sort=self.sort,
                           progress=from_worker(self, lambda done: self.say(f"Exporting... {done:,} rows")))

    def action_template(self) -> None:
        call_service(self, write_library_template, self.lib.name, group="library",
                     on_error=lambda error: self.say(f"Cannot write the template: {error.message}"),
                     on_success=lambda path: self.say(f"Template written to {self.app.where_saved([path])}"))

    def action_import(self) -> None:
        self.app.push_screen(ImportScreen(self.lib), lambda changed: changed and self.table.reload())


def save_record(ctx, actor, library_name: str, record_id: int | None, values: dict[str, str]) -> L.Record:
    """Create the record (no id yet) or update it."""
    if record_id is None:
        return L.create(ctx, actor, library_name, values)
    return L.update(ctx, actor, library_name, record_id, values)


def write_library_template(ctx, actor, library_name: str) -> Path:
    """An empty .xlsx with the library's columns, in the operator's export folder."""
    from stron_tui.exports.files import export_path
    from stron_tui.services.excel_io import write_template

    try:
        path = export_path(ctx.settings, f"{library_name}-template", "xlsx", user_id=actor.user_id)
        write_template(library_name, path)
    except OSError as error:  # the folder or the disk: said in words, as a StronError
        raise StronError(str(error)) from error
    return path


# Form fields that name a record of another library (or a currency): typed, they complete to a real name.
REFERENCES = {"district_code": "districts", "station_code": "stations", "tariff_name": "tariffs",
              "customer_code": "customers", "meter_number": "meters", "currency_code": "currencies"}


class RecordFormScreen(FormScreen):
    """Add or edit one record; every field says what is wrong right under it."""

    MESSAGE_ID = "form-message"

    BINDINGS = [
        Binding("escape", "back", "Cancel", id="back"),
        Binding("ctrl+s", "save", "Save", id="library.save"),
    ]
    DEFAULT_CSS = """
    RecordFormScreen #form-fields { height: 1fr; padding: 0 2; }
    RecordFormScreen #form-message { height: auto; padding: 0 2; color: $warning; }
    """

    def __init__(self, lib: L.Library, record: L.Record | None, values: dict[str, str]):
        super().__init__()
        self.lib = lib
        self.record = record
        self.initial = values
        what = lib.describe(record.values) if record else f"new {lib.entity}"
        self.TITLE_TEXT = f"{lib.title}: {what}"

    def compose_body(self) -> ComposeResult:
        yield Static("Enter moves to the next field and saves on the last; Ctrl+S saves; Esc cancels.",
                     classes="hint", markup=False)
        with VerticalScroll(id="form-fields"):
            for spec in self.lib.fields:
                yield LabeledField(spec.hint(), TextInput(self.initial.get(spec.name, ""), id=f"input-{spec.name}",
                                                          max_length=max(spec.max_length, 20),
                                                          suggester=self._suggester(spec)),
                                   id=f"field-{spec.name}")
        yield Static("", id="form-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(f"#input-{self.lib.fields[0].name}", Input).focus()

    def _suggester(self, spec: L.Field):
        """Fields that name a record or pick from a list complete as they are typed; Enter takes the name."""
        if spec.choices:
            return choice_suggester(spec.choices)
        reference = REFERENCES.get(spec.name)
        if reference is None or reference == self.lib.name:  # a record's own key is typed, not picked
            return None
        ctx, actor = self.app.ctx, self.app.actor
        if reference == "currencies":
            from stron_tui.services.vending import currencies

            return LookupSuggester(lambda prefix: next(
                (code for code in currencies(ctx) if code.lower().startswith(prefix.lower())), None))

        def first_key(prefix: str) -> str | None:
            page = L.search(ctx, actor, reference, prefix, limit=5)
            key_field = L.library(reference).key_field
            keys = [str(record.get(key_field) or "") for record in page.rows]
            return next((key for key in sorted(keys) if key.lower().startswith(prefix.lower())), None)

        return LookupSuggester(first_key)

    def action_back(self) -> None:
        self.leave_asking(lambda: self.dismiss(None))

    def field_names(self) -> list[str]:
        return [spec.name for spec in self.lib.fields]

    def action_save(self) -> None:
        values = self.values()
        problems = {}
        for spec in self.lib.fields:  # on-the-spot checks before the database is asked
            try:
                L.parse_field(spec, values[spec.name])
            except ValidationError as error:
                problems[spec.name] = error.message
        if self.show_errors(problems):
            return
        call_service(self, save_record, self.lib.name, self.record.id if self.record else None, values,
                     busy="Saving...", group="form", on_success=self.dismiss, on_error=self._refused)

    def _refused(self, error: StronError) -> None:
        problems = dict(error.errors) if isinstance(error, ValidationError) else {}
        if error.field and error.field not in problems:
            problems[error.field] = error.message
        self.show_errors({name: text for name, text in problems.items() if name in self.lib.fields_by_name})
        self.say(error.message)


class ImportScreen(StronScreen):
    """Ask for an .xlsx path, import it all-or-nothing, list every problem."""

    MESSAGE_ID = "import-result"

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("ctrl+e", "export_errors", "Export problems", id="library.export-errors"),
    ]
    DEFAULT_CSS = """
    ImportScreen #import-box { height: auto; padding: 0 2; }
    ImportScreen #import-result { height: auto; padding: 0 2; }
    ImportScreen #import-errors { height: 1fr; }
    ImportScreen #uploads { height: auto; max-height: 6; }
    """

    def __init__(self, lib: L.Library):
        super().__init__()
        self.lib = lib
        self.report = None
        self.changed = False
        self.TITLE_TEXT = f"{lib.title}: import from Excel"

    def template_hint(self) -> str:
        return f"t in the {self.lib.title}"

    def compose_body(self) -> ComposeResult:
        with Vertical(id="import-box"):
            yield Static("Upload the .xlsx over SFTP into /upload (same user and server as this session) and "
                         f"choose it below, or type its name or a path on the server (template: "
                         f"{self.template_hint()}). If any row is wrong nothing is imported.", classes="hint",
                         markup=False)
            yield OptionList(id="uploads")
            yield LabeledField("File", TextInput(id="import-path"), id="field-path")
            # A total from the start: an idle bar does not pulse as if a file were being read.
            yield ProgressBar(id="import-progress", show_eta=False, total=1)
        yield Static("", id="import-result", markup=False)
        table = DataTable(id="import-errors", cursor_type="row")
        table.add_columns("Row", "Column", "Problem")
        yield table

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#import-path", Input).focus()
        self._list_uploads()

    def _list_uploads(self) -> None:
        from stron_tui.services.excel_io import uploaded_files

        call_service(self, uploaded_files, group="uploads", on_success=self._show_uploads)

    def _show_uploads(self, uploads) -> None:
        options = self.query_one("#uploads", OptionList)
        options.clear_options()
        zone = self.app.ctx.settings.zone
        for upload in uploads:
            when = upload.modified.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
            options.add_option(Option(f"{upload.name}  {upload.size / 1024:,.0f} KB  {when}", id=upload.name))
        if not uploads:
            options.add_option(Option("Your upload folder (/upload over SFTP) has no .xlsx files.", disabled=True))
        else:
            options.highlighted = 0
            options.focus()

    @on(OptionList.OptionSelected, "#uploads")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.query_one("#import-path", Input).value = event.option.id
            self._begin(event.option.id)

    def action_back(self) -> None:
        self.dismiss(self.changed)

    @on(Input.Submitted, "#import-path")
    def _start(self, event: Input.Submitted) -> None:
        self._begin(event.value.strip())

    def _begin(self, path: str) -> None:
        if not path:
            self.query_one("#field-path", LabeledField).show_error("Choose an uploaded file or enter a file name.")
            return
        self.query_one("#field-path", LabeledField).show_error(None)
        bar = self.query_one("#import-progress", ProgressBar)
        progress = from_worker(self, lambda done, total: bar.update(total=max(total, 1), progress=done))
        call_service(self, self.import_file, Path(path), progress=progress, group="import",
                     busy="Checking every row...", on_success=self._show, on_error=self._rejected)

    def import_file(self, ctx, actor, path: Path, *, progress):
        """The import service this screen runs (in a worker): a library's rows, all or nothing."""
        from stron_tui.services.excel_io import import_library

        return import_library(ctx, actor, self.lib.name, path, progress=progress)

    def _rejected(self, error: StronError) -> None:
        self.query_one("#field-path", LabeledField).show_error(error.message)
        self.say("Nothing was imported.")

    def _show(self, report) -> None:
        self.report = report
        self.changed = report.ok and (report.created or report.updated)
        text = report.summary()
        if report.errors:
            text += " Ctrl+E writes this list to an Excel file."
        self.query_one("#import-result", Static).update(text)
        table = self.query_one("#import-errors", DataTable)
        table.clear()
        for error in report.errors:
            table.add_row(*plain_cells(str(error.row), error.column, error.reason))

    def action_export_errors(self) -> None:
        if self.report is None or not self.report.errors:
            return
        from stron_tui.services.excel_io import export_errors

        call_service(self, export_errors, self.report, group="import",
                     on_success=lambda path: self.say(f"Problems written to {self.app.where_saved([path])}"))


class DistrictLibraryScreen(LibraryScreen):
    LIBRARY = "districts"


class StationLibraryScreen(LibraryScreen):
    LIBRARY = "stations"


class CustomerLibraryScreen(LibraryScreen):
    LIBRARY = "customers"

    def search_hint(self) -> str:
        return "Search name, customer ID or phone"


class TariffLibraryScreen(LibraryScreen):
    LIBRARY = "tariffs"
    # Not in the footer (it is full at 80 columns): F1 lists it, and the message line says it on opening.
    BINDINGS = [Binding("v", "versions", "Versions", show=False, id="tariffs.versions")]

    def on_mount(self) -> None:
        super().on_mount()
        self.say("v: the highlighted tariff's versions (blocks, fixed charge, from when).")

    def action_versions(self) -> None:
        from screens.basedata.tariff_versions import TariffVersionsScreen

        key = self.table.selected_key()
        if key is None:
            self.say("Choose a tariff first.")
            return
        self.app.push_screen(TariffVersionsScreen(key))
