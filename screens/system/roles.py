"""Role Management: roles and the permissions they carry, picked from a checklist."""

from __future__ import annotations

from rich.segment import Segment
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.strip import Strip
from textual.widgets import DataTable, Input, SelectionList, Static
from textual.widgets._toggle_button import ToggleButton
from textual.widgets.option_list import OptionDoesNotExist
from textual.widgets.selection_list import Selection

from screens.base import StronScreen
from screens.calls import call_service
from widgets.confirm import ConfirmScreen
from stron_tui.errors import StronError, ValidationError
from stron_tui.services.permissions import MODULES_BY_KEY, PERMISSIONS, module_of
from widgets.cells import plain_cells
from widgets.fields import LabeledField, TextInput


def permission_prompt(code: str) -> str:
    """'Top-up Center   sell credit': grouped by module, then the action it allows."""
    return f"{MODULES_BY_KEY[module_of(code)].title:<19} {PERMISSIONS[code]}"


class PermissionChecklist(SelectionList):
    """A SelectionList whose box shows X only when ticked: the stock one tells by colour alone."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        if len(segments) < 2 or segments[1].text != ToggleButton.BUTTON_INNER:
            return strip
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        if selection.value in self.selected:
            return strip
        segments[1] = Segment(" " * len(ToggleButton.BUTTON_INNER), segments[1].style)
        return Strip(segments, strip.cell_length)


class RoleListScreen(StronScreen):
    MESSAGE_ID = "roles-message"
    CSS_PATH = "system.tcss"
    TITLE_TEXT = "Role Management"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("n", "new", "New", id="roles.new"),
        Binding("e", "edit", "Edit", id="roles.edit"),
        Binding("delete", "delete", "Delete", id="roles.delete"),
    ]

    def __init__(self):
        super().__init__()
        self._roles: list = []

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="roles", cursor_type="row", zebra_stripes=False)
        yield Static("Enter or E edits the name and permissions; a role still given to someone can't be deleted. "
                     "Changed permissions apply from each holder's next login.", classes="hint", markup=False)
        yield Static("", id="roles-message", classes="warning", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#roles", DataTable).focus()
        self._load()

    def _load(self, select_role_id: int | None = None) -> None:
        from stron_tui.services import roles

        call_service(self, roles.list_roles, group="roles-load",
                     on_success=lambda found: self._show(found, select_role_id))

    def _show(self, found: list, select_role_id: int | None) -> None:
        table = self.query_one("#roles", DataTable)
        table.clear(columns=True)
        self._roles = found
        rows = [(role.name, str(role.users), str(role.api_accounts),
                 "all" if role.administrator else str(len(role.permissions)), role.description or "")
                for role in found]
        # Columns as wide as their widest value, set once: a role name is never cut (the table scrolls).
        for index, title in enumerate(("Role", "Users", "API accounts", "Permissions", "Description")):
            table.add_column(title, width=max([len(title), *(len(row[index]) for row in rows)]))
        for index, (role, row) in enumerate(zip(found, rows)):
            table.add_row(*plain_cells(*row), key=str(role.id))
            if role.id == select_role_id:
                table.move_cursor(row=index)


    def _current(self):
        table = self.query_one("#roles", DataTable)
        if not self._roles or table.cursor_row is None or table.cursor_row >= len(self._roles):
            self.say("Choose a role first.")
            return None
        return self._roles[table.cursor_row]

    def action_new(self) -> None:
        self.app.push_screen(RoleFormScreen(), self._saved)

    @on(DataTable.RowSelected, "#roles")
    def action_edit(self) -> None:
        role = self._current()
        if role is not None:
            self.app.push_screen(RoleFormScreen(role), self._saved)

    def _saved(self, role) -> None:
        if role is not None:
            self.say(f"Role {role.name} saved with {len(role.permissions)} permissions.")
            self._load(role.id)

    def action_delete(self) -> None:
        role = self._current()
        if role is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(role)

        self.app.push_screen(ConfirmScreen("Delete role", f"Delete the role {role.name}?"), answered)

    def _delete(self, role) -> None:
        from stron_tui.services import roles

        call_service(self, roles.delete_role, role.id, group="roles-change", on_success=lambda _: self._deleted(role))

    def _deleted(self, role) -> None:
        self.say(f"Role {role.name} deleted.")
        self._load()


class RoleFormScreen(StronScreen):
    """Name, description and the permissions checklist (Space ticks); Ctrl+S saves."""
    MESSAGE_ID = "permissions-error"

    CSS_PATH = "system.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Back", id="back"),
        Binding("ctrl+s", "save", "Save", id="roles.save"),
    ]

    def __init__(self, role=None):
        super().__init__()
        self.role = role

    def compose_body(self) -> ComposeResult:
        role = self.role
        yield Static(f"Edit role {role.name}" if role else "New role", classes="screen-title", markup=False)
        with Vertical(classes="form", id="role-form"):
            yield LabeledField("Role name", TextInput(role.name if role else "", id="name", max_length=60,
                                                      disabled=bool(role and role.administrator)),
                               id="field-name")
            yield LabeledField("Description", TextInput(role.description if role else "", id="description",
                                                        max_length=200), id="field-description")
            held = set(role.permissions) if role else set()
            checklist = PermissionChecklist(
                *[Selection(permission_prompt(code), code, code in held) for code in PERMISSIONS],
                id="permissions",
                disabled=bool(role and role.administrator),
            )
            yield Static("Permissions (Space ticks or clears; grouped by module):", markup=False)
            yield checklist
            if role and role.administrator:
                yield Static("The Administrator role keeps every permission and its name.", classes="hint",
                             markup=False)
            yield Static("", id="permissions-error", classes="warning", markup=False)
            yield Static("Tab moves between fields; Ctrl+S saves; Esc goes back without saving.", classes="hint",
                         markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        if self.role and self.role.administrator:
            self.query_one("#description", Input).focus()
        else:
            self.query_one("#name", Input).focus()

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    def action_cancel(self) -> None:
        self.leave_asking(lambda: self.dismiss(None))

    def action_save(self) -> None:
        for name in ("name", "description"):
            self.query_one(f"#field-{name}", LabeledField).show_error(None)
        self.say("Saving...")
        self._save(self.query_one("#name", Input).value, self.query_one("#description", Input).value,
                   list(self.query_one("#permissions", SelectionList).selected))


    def _save(self, name: str, description: str, permissions: list[str]) -> None:
        from stron_tui.services import roles

        if self.role is None:
            call = (roles.create_role,)
        else:
            if self.role.administrator:
                name, permissions = self.role.name, None  # the administrator role keeps its name and rights
            call = (roles.update_role, self.role.id)
        call_service(self, *call, name=name, description=description, permissions=permissions, group="role-save",
                     on_success=self.dismiss, on_error=self._field_error)

    def _field_error(self, error: StronError) -> None:
        if isinstance(error, ValidationError) and error.field in ("name", "description"):
            self.say("")
            self.query_one(f"#field-{error.field}", LabeledField).show_error(error.message)
        else:
            self.say(error.message)
