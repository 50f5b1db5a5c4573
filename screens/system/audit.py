"""Audit Log: who did what, when and from where; filter, page newest first, export to Excel."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Static

from screens.base import StronScreen
from screens.calls import call_service
from stron_tui.errors import StronError, ValidationError
from stron_tui.domain.clock import local_text
from stron_tui.domain.text import printable
from widgets.cells import plain_cells
from widgets.fields import LabeledField, TextInput
from widgets.words import code_words

FILTERS = (
    ("user_code", "User ID", 14),
    ("action", "Action starts with", 18),
    ("source", "Source tui/ssh/api", 12),
    ("date_from", "From YYYY-MM-DD", 14),
    ("date_to", "To YYYY-MM-DD", 14),
)


class AuditLogScreen(StronScreen):
    MESSAGE_ID = "audit-message"
    TITLE_TEXT = "Audit Log"
    CSS_PATH = "system.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("slash", "filters", "Filter", id="audit.filters"),
        Binding("right_square_bracket", "page(1)", "Older", id="audit.page-next"),
        Binding("left_square_bracket", "page(-1)", "Newer", id="audit.page-previous"),
        Binding("x", "export", "Export Excel", id="audit.export"),
    ]

    def __init__(self):
        super().__init__()
        self._filter = None
        self._keys: list = [None]
        self._next_key = None
        self._rows: list = []

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="audit-filters"):
            for name, label, width in FILTERS:
                field = LabeledField(label, TextInput(id=f"filter-{name}"), id=f"field-{name}")
                field.styles.width = width + 2
                yield field
        table = DataTable(id="audit", cursor_type="row", zebra_stripes=False)
        table.add_columns("Time", "Source", "User", "Action", "Summary")
        yield table
        yield Static("", id="audit-detail", markup=False)
        yield Static("", id="audit-page", classes="hint", markup=False)
        yield Static("", id="audit-message", classes="warning", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#audit", DataTable).focus()
        self._apply()

    # Filtering and paging -----------------------------------------------------

    def action_filters(self) -> None:
        self.query_one("#filter-user_code", Input).focus()

    @on(Input.Submitted)
    def _filter_entered(self) -> None:
        self._apply()

    def _apply(self) -> None:
        from stron_tui.services import audit_log

        for name, _label, _width in FILTERS:
            self.query_one(f"#field-{name}", LabeledField).show_error(None)
        typed = {name: self.query_one(f"#filter-{name}", Input).value for name, _label, _width in FILTERS}
        try:
            self._filter = audit_log.parse_filter(**typed)
        except ValidationError as error:
            self.query_one(f"#field-{error.field}", LabeledField).show_error(str(error))
            return
        self._keys = [None]
        self.query_one("#audit", DataTable).focus()
        self._fetch(self._filter, None)

    def action_page(self, step: int) -> None:
        if step > 0 and self._next_key is not None:
            self._keys.append(self._next_key)
        elif step < 0 and len(self._keys) > 1:
            self._keys.pop()
        else:
            return
        self._fetch(self._filter, self._keys[-1])

    def _fetch(self, flt, after) -> None:
        from stron_tui.services import audit_log

        call_service(self, audit_log.search, flt, after=after, group="audit-load",
                     on_success=self._show)

    def _show(self, page) -> None:
        zone = self.app.ctx.settings.zone
        table = self.query_one("#audit", DataTable)
        table.clear()
        self._rows = list(page.rows)
        self._next_key = page.next_key
        for row in self._rows:
            table.add_row(*plain_cells(local_text(row.occurred_at, zone, with_seconds=True), row.source.upper(),
                                      row.user_code, code_words(row.action), row.summary), key=str(row.id))
        number = len(self._keys)
        parts = [f"Page {number}, newest first: {len(self._rows)} entries"]
        if page.next_key:
            parts.append("] older")
        if number > 1:
            parts.append("[ newer")
        self.query_one("#audit-page", Static).update("; ".join(parts))
        self._show_detail(0)

    @on(DataTable.RowHighlighted, "#audit")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _show_detail(self, index: int) -> None:
        detail = self.query_one("#audit-detail", Static)
        if not self._rows or index >= len(self._rows):
            detail.update("No entries match." if not self._rows else "")
            return
        row = self._rows[index]
        where = f" from {row.remote}" if row.remote else ""
        what = f" on {row.entity} {row.entity_id}" if row.entity else ""
        detail.update(printable(f"{code_words(row.action)} ({row.action}){what} by {row.user_code or '-'} via "
                                f"{row.source.upper()}{where}: {row.summary}" + (f"\n{row.detail}" if row.detail else ""),
                                keep_newlines=True))


    # Export ---------------------------------------------------------------------

    def action_export(self) -> None:
        if self._filter is None:
            return
        self.say("Exporting to Excel...")
        self._export(self._filter)

    @work(thread=True, exclusive=True, group="audit-export")
    def _export(self, flt) -> None:
        from textual.worker import get_current_worker

        from stron_tui.exports.files import ExportCancelled
        from stron_tui.services import audit_log

        worker = get_current_worker()
        app = self.app

        def progress(done: int) -> None:
            # Leaving the screen cancels its workers; the half-written file is removed.
            if worker.is_cancelled:
                raise ExportCancelled("Export cancelled.")
            app.call_from_thread(self.say, f"Exporting to Excel: {done:,} entries so far (Esc cancels)...")

        try:
            result = audit_log.export_xlsx(app.ctx, app.actor, flt, progress=progress)
        except StronError as error:
            self.app.call_from_thread(self.say, str(error))
            return
        self.app.call_from_thread(self.say, f"Exported {result.rows} entries to {self.app.where_saved([result.path])}")
