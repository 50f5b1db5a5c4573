"""User Management: sub-accounts, their roles and stations; disable, unlock, reset passwords."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Select, Static

from screens.base import StronScreen
from screens.calls import call_service, show_field_errors
from widgets.confirm import ConfirmScreen
from stron_tui.errors import StronError
from stron_tui.domain.clock import local_text
from stron_tui.services.passwords import DEFAULT_PASSWORD
from widgets.cells import plain_cells
from widgets.fields import LabeledField, LookupSuggester, TextInput, accept_suggestion
from widgets.picker import Picker

PAGE_SIZE = 50
TEMPORARY_REMINDER = (f"New and reset users log in with the temporary password {DEFAULT_PASSWORD} "
                      "and must choose their own before anything else.")
LIST_KEYS = ("D disables or enables, R resets the login password, P the payment password; "
             "/ searches; ] and [ page; Esc goes back.")


class UserListScreen(StronScreen):
    MESSAGE_ID = "users-message"
    CSS_PATH = "system.tcss"
    TITLE_TEXT = "User Management"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("n", "new", "New", id="users.new"),
        Binding("e", "edit", "Edit", id="users.edit"),
        Binding("d", "toggle_enabled", "Disable", id="users.toggle-enabled"),
        Binding("u", "unlock", "Unlock", show=False, id="users.unlock"),
        Binding("r", "reset('login')", "Reset pw", id="users.reset-login"),
        Binding("p", "reset('payment')", "Pay pw", id="users.reset-payment"),
        Binding("delete", "delete", "Delete", show=False, id="users.delete"),
        Binding("slash", "search", "Search", show=False, id="users.search"),
        Binding("right_square_bracket", "page(1)", "Next page", show=False, id="users.page-next"),
        Binding("left_square_bracket", "page(-1)", "Prev page", show=False, id="users.page-previous"),
    ]

    def __init__(self):
        super().__init__()
        self._rows: list = []
        self._keys: list = [None]  # `after` key of each page shown so far
        self._next_key = None
        self._search = ""

    def compose_body(self) -> ComposeResult:
        yield TextInput(placeholder="/ search by the start of the user ID, Enter to search", id="search")
        table = DataTable(id="users", cursor_type="row", zebra_stripes=False)
        table.add_columns("User ID", "Name", "Phone", "Role", "Station", "State", "Last login")
        yield table
        yield Static("", id="users-page", classes="hint", markup=False)
        yield Static(f"{TEMPORARY_REMINDER} {LIST_KEYS}", classes="hint", markup=False)
        yield Static("", id="users-message", classes="warning", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#users", DataTable).focus()
        self._load()

    # Loading ---------------------------------------------------------------

    def _load(self, select_user_id: int | None = None) -> None:
        self._fetch(self._search, self._keys[-1], select_user_id)

    def _fetch(self, search: str, after, select_user_id: int | None) -> None:
        from stron_tui.services import users

        call_service(self, users.list_users, search=search, after=after, limit=PAGE_SIZE, group="users-load",
                     on_success=lambda page: self._show(page, select_user_id))

    def _show(self, page, select_user_id: int | None) -> None:
        zone = self.app.ctx.settings.zone
        table = self.query_one("#users", DataTable)
        table.clear()
        self._rows = list(page.rows)
        self._next_key = page.next_key
        for user in self._rows:
            role = user.role + (" (built-in Admin)" if user.builtin_admin else "")
            table.add_row(*plain_cells(user.user_code, user.name, user.phone, role, user.station_code, user.state,
                                      local_text(user.last_login_at, zone)), key=str(user.id))
        if select_user_id is not None:
            for index, user in enumerate(self._rows):
                if user.id == select_user_id:
                    table.move_cursor(row=index)
        number = len(self._keys)
        more = "; ] next page" if page.next_key else ""
        back = "; [ previous page" if number > 1 else ""
        found = f"{len(self._rows)} user{'s' if len(self._rows) != 1 else ''}"
        self.query_one("#users-page", Static).update(f"Page {number}: {found}{more}{back}")


    def _current(self):
        table = self.query_one("#users", DataTable)
        if not self._rows or table.cursor_row is None or table.cursor_row >= len(self._rows):
            self.say("Choose a user first.")
            return None
        return self._rows[table.cursor_row]

    # Actions ---------------------------------------------------------------

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Submitted, "#search")
    def _searched(self, event: Input.Submitted) -> None:
        self._search = event.value
        self._keys = [None]
        self.query_one("#users", DataTable).focus()
        self._load()

    def action_page(self, step: int) -> None:
        if step > 0 and self._next_key is not None:
            self._keys.append(self._next_key)
        elif step < 0 and len(self._keys) > 1:
            self._keys.pop()
        else:
            return
        self._load()

    def action_new(self) -> None:
        self.app.push_screen(UserFormScreen(), self._saved)

    @on(DataTable.RowSelected, "#users")
    def action_edit(self) -> None:
        user = self._current()
        if user is not None:
            self.app.push_screen(UserFormScreen(user), self._saved)

    def _saved(self, result) -> None:
        if result is None:
            return
        info, created = result
        if created:
            self.say(f"User {info.user_code} created with the temporary password {DEFAULT_PASSWORD}; "
                     "they must change it at first login.")
        else:
            self.say(f"User {info.user_code} saved.")
        self._load(info.id)

    def action_toggle_enabled(self) -> None:
        user = self._current()
        if user is None:
            return
        if user.enabled:
            self._confirm("Disable user", f"Disable {user.user_code}? They can no longer log in until enabled.",
                          "disable", user)
        else:
            self._run("enable", user)

    def action_unlock(self) -> None:
        user = self._current()
        if user is not None:
            self._run("unlock", user)

    def action_reset(self, kind: str) -> None:
        user = self._current()
        if user is None:
            return
        label = "payment password" if kind == "payment" else "login password"
        self._confirm("Reset password",
                      f"Reset the {label} of {user.user_code} to {DEFAULT_PASSWORD}? "
                      "They must choose a new one at next use.",
                      f"reset_{kind}", user)

    def action_delete(self) -> None:
        user = self._current()
        if user is not None:
            self._confirm("Delete user", f"Delete {user.user_code}? Only a user who never did anything can be "
                          "deleted; disable the others.", "delete", user)

    def _confirm(self, title: str, question: str, what: str, user) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._run(what, user)

        self.app.push_screen(ConfirmScreen(title, question), answered)

    def _run(self, what: str, user) -> None:
        call_service(self, change_user, what, user, group="users-change",
                     on_success=lambda message: self._changed(message, user.id))

    def _changed(self, message: str, user_id: int) -> None:
        self.say(message)
        self._load(user_id)


def change_user(ctx, actor, what: str, user) -> str:
    """Disable, enable, unlock, reset a password of (reset_login, reset_payment) or delete a user: what was done."""
    from stron_tui.services import users

    if what in ("disable", "enable"):
        users.set_enabled(ctx, actor, user.id, what == "enable")
        return f"User {user.user_code} {what}d."
    if what == "unlock":
        users.unlock_user(ctx, actor, user.id)
        return f"User {user.user_code} unlocked."
    if what.startswith("reset_"):
        kind = what.removeprefix("reset_")
        users.reset_password(ctx, actor, user.id, kind=kind)
        label = "payment password" if kind == "payment" else "password"
        return f"The {label} of {user.user_code} is now {DEFAULT_PASSWORD}; they must change it at next use."
    users.delete_user(ctx, actor, user.id)
    return f"User {user.user_code} deleted."


def save_user(ctx, actor, user_id: int | None, values: dict):
    """Create the user (no id yet) or update it."""
    from stron_tui.services import users

    if user_id is None:
        return users.create_user(ctx, actor, **values)
    return users.update_user(ctx, actor, user_id, **values)


class UserFormScreen(StronScreen):
    """New user (no argument) or edit an existing one; Ctrl+S saves."""
    MESSAGE_ID = "form-message"

    CSS_PATH = "system.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Back", id="back"),
        Binding("ctrl+s", "save", "Save", id="users.save"),
    ]

    def __init__(self, user=None):
        super().__init__()
        self.user = user

    def compose_body(self) -> ComposeResult:
        user = self.user
        title = f"Edit user {user.user_code}" if user else "New user"
        yield Static(title, classes="screen-title", markup=False)
        with Vertical(classes="form system-form"):
            code = TextInput(user.user_code if user else "", id="user_code", max_length=40,
                             disabled=user is not None)
            yield LabeledField("User ID (used to log in; can't be changed later)", code, id="field-user_code")
            yield LabeledField("Name", TextInput(user.name if user else "", id="name", max_length=100),
                               id="field-name")
            yield LabeledField("Phone", TextInput(user.phone if user else "", id="phone", max_length=40),
                               id="field-phone")
            role = Picker([], prompt="Choose a role", id="role", compact=True,
                          disabled=bool(user and user.builtin_admin))
            yield LabeledField("Role", role, id="field-role")
            yield LabeledField("Sales station code (optional)",
                               TextInput(user.station_code if user else "", id="station", max_length=20,
                                         suggester=LookupSuggester(self._station_starting)),
                               id="field-station")
            if user is None:
                yield Static(TEMPORARY_REMINDER, classes="warning", markup=False)
            elif user.builtin_admin:
                yield Static("The built-in Admin keeps the Administrator role and every right.", classes="hint",
                             markup=False)
            yield Static("Enter moves on; Ctrl+S saves; Esc goes back without saving.", classes="hint",
                         markup=False)
            yield Static("", id="form-message", classes="warning", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#name" if self.user else "#user_code", Input).focus()
        self._load_roles()

    def _load_roles(self) -> None:
        from stron_tui.services import roles

        call_service(self, roles.list_roles, group="roles", on_success=self._set_roles)

    def _set_roles(self, found) -> None:
        names = [role.name for role in found]
        select = self.query_one("#role", Select)
        select.set_options([(name, name) for name in names])
        if self.user is not None and self.user.role in names:
            select.value = self.user.role


    def _station_starting(self, prefix: str) -> str | None:
        """Type-ahead for the station code (runs in a thread); none for an operator who may not see stations."""
        from stron_tui.services import libraries

        try:
            page = libraries.search(self.app.ctx, self.app.actor, "stations", prefix, limit=5)
        except StronError:
            return None
        codes = sorted(str(record.get("code") or "") for record in page.rows)
        return next((code for code in codes if code.lower().startswith(prefix.lower())), None)

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        accept_suggestion(event.input)
        if event.input.id == "station":
            self.action_save()
        else:
            self.focus_next()

    def action_cancel(self) -> None:
        self.leave_asking(lambda: self.dismiss(None))

    def action_save(self) -> None:
        for name in ("user_code", "name", "phone", "role", "station"):
            self.query_one(f"#field-{name}", LabeledField).show_error(None)
        role = self.query_one("#role", Select).value
        values = {
            "name": self.query_one("#name", Input).value,
            "phone": self.query_one("#phone", Input).value,
            "role": "" if role is Select.NULL else str(role),
            "station_code": self.query_one("#station", Input).value,
        }
        if self.user is None:
            values["user_code"] = self.query_one("#user_code", Input).value
        call_service(self, save_user, self.user.id if self.user else None, values, busy="Saving...",
                     group="user-save", on_success=lambda info: self.dismiss((info, self.user is None)),
                     on_error=self._refused)

    def _refused(self, error: StronError) -> None:
        if show_field_errors(self, error, focus=False):
            self.say("")
        else:
            self.say(error.message)
