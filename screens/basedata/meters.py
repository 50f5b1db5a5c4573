"""Meter Library with batch input of a consecutive run of meter numbers (b)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, ProgressBar, Static

from screens.forms import FormScreen
from screens.calls import call_service, from_worker, show_field_errors
from screens.basedata.library import LibraryScreen
from stron_tui.errors import StronError
from stron_tui.services import libraries as L
from widgets.fields import LabeledField, TextInput


class MeterLibraryScreen(LibraryScreen):
    LIBRARY = "meters"
    # The footer's room goes to batch input here (a meter library grows by batches); Export is in F1.
    BINDINGS = [binding for binding in LibraryScreen.BINDINGS if binding.key != "x"] + [
        Binding("x", "export", "Export", show=False, id="library.export"),
        Binding("b", "batch", "Batch", tooltip="Batch input of a meter number range", id="meters.batch"),
    ]

    def search_hint(self) -> str:
        return "Search meter number (prefix), type, utility, status or SGC"

    def action_batch(self) -> None:
        self.app.push_screen(BatchMeterScreen(), lambda created: created and self.table.reload())


class BatchMeterScreen(FormScreen):
    """First and last meter number of a run plus what the meters share; p previews, Ctrl+S creates."""

    TITLE_TEXT = "Meter Library: batch input"
    MESSAGE_ID = "batch-plan"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("f8", "preview", "Preview", id="meters.preview"),
        Binding("ctrl+s", "create", "Create", id="meters.create"),
    ]
    DEFAULT_CSS = """
    BatchMeterScreen #batch-fields { height: 1fr; padding: 0 2; }
    BatchMeterScreen #batch-plan { height: auto; padding: 0 2; }
    """
    SHARED = ("meter_type", "utility", "status", "sgc", "ti", "krn", "kt", "ea", "dkga", "base_date", "ken")

    def __init__(self):
        super().__init__()
        self.lib = L.library("meters")
        self.created = False
        self.plan = None

    def compose_body(self) -> ComposeResult:
        yield Static("Give the first and last meter number of a run, with or without the check digit "
                     "(it is computed for every meter), "
                     "then the attributes they share. F8 (or Enter on the last field) previews, Ctrl+S creates.", classes="hint", markup=False)
        defaults = L.blank_form(self.lib)
        with VerticalScroll(id="batch-fields"):
            yield LabeledField("First meter number", TextInput(id="input-first", max_length=13), id="field-first")
            yield LabeledField("Last meter number", TextInput(id="input-last", max_length=13), id="field-last")
            for name in self.SHARED:
                spec = self.lib.fields_by_name[name]
                yield LabeledField(spec.hint(), TextInput(defaults[name], id=f"input-{name}", max_length=40),
                                   id=f"field-{name}")
        yield Static("", id="batch-plan", markup=False)
        yield ProgressBar(id="batch-progress", show_eta=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#input-first", Input).focus()

    def action_back(self) -> None:
        self.dismiss(self.created)

    def field_names(self) -> list[str]:
        return ["first", "last", *self.SHARED]

    def submit(self) -> None:
        self.action_preview()  # Enter on the last field previews; Ctrl+S creates

    def _shared(self) -> dict:
        return {name: self.value(name) for name in self.SHARED}

    def _show_error(self, error: StronError | None, prefix: str = "") -> None:
        self.show_errors({})
        if error is None:
            return
        if show_field_errors(self, error) is None and error.field:
            self.query_one("#input-first", Input).focus()
        self.say(prefix + error.message)

    def action_preview(self) -> None:
        from stron_tui.services.meters import plan_batch

        call_service(self, plan_batch, self.value("first"), self.value("last"), group="batch",
                     on_success=self._show_plan, on_error=self._show_error)

    def _show_plan(self, plan) -> None:
        self._show_error(None)
        self.plan = plan
        text = f"{plan.count:,} meters from {plan.first} to {plan.last}: {plan.to_create:,} will be created"
        if plan.existing:
            sample = ", ".join(plan.existing_sample[:8]) + (" ..." if plan.existing > 8 else "")
            text += f"; {plan.existing:,} already exist and are skipped ({sample})"
        self.say(text + ". Ctrl+S creates them.")

    def action_create(self) -> None:
        from stron_tui.services.meters import create_batch

        bar = self.query_one("#batch-progress", ProgressBar)
        progress = from_worker(self, lambda done, total: bar.update(total=total, progress=done))
        call_service(self, create_batch, self.value("first"), self.value("last"), self._shared(), progress=progress,
                     busy="Creating...", group="batch", on_success=self._created,
                     on_error=lambda error: self._show_error(error, "Nothing was created: "))

    def _created(self, result) -> None:
        self.created = True
        self.say(f"Created {result.created:,} meters from {result.first} to {result.last}"
                 f"; {result.skipped:,} already existed.")
