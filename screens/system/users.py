"""User Management: sub-accounts, their roles and stations; disable, unlock, reset passwords."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Select, Static

from screens.base import StronScreen
from screens.system.confirm import ConfirmScreen
from stron_tui.errors import StronError, ValidationError
from stron_tui.services.clock import local_text
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

    @work(thread=True, exclusive=True, group="users-load")
    def _fetch(self, search: str, after, select_user_id: int | None) -> None:
        from stron_tui.services import users

        try:
            page = users.list_users(self.app.ctx, self.app.actor, search=search, after=after, limit=PAGE_SIZE)
        except StronError as error:
            self.app.call_from_thread(self.say, str(error))
            return
        self.app.call_from_thread(self._show, page, select_user_id)

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

    def say(self, message: str) -> None:
        self.query_one("#users-message", Static).update(message)

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

    @work(thread=True, exclusive=True, group="users-change")
    def _run(self, what: str, user) -> None:
        from stron_tui.services import users

        ctx, actor = self.app.ctx, self.app.actor
        try:
            if what == "disable":
                users.set_enabled(ctx, actor, user.id, False)
                message = f"User {user.user_code} disabled."
            elif what == "enable":
                users.set_enabled(ctx, actor, user.id, True)
                message = f"User {user.user_code} enabled."
            elif what == "unlock":
                users.unlock_user(ctx, actor, user.id)
                message = f"User {user.user_code} unlocked."
            elif what.startswith("reset_"):
                kind = what.removeprefix("reset_")
                users.reset_password(ctx, actor, user.id, kind=kind)
                label = "payment password" if kind == "payment" else "password"
                message = (f"The {label} of {user.user_code} is now {DEFAULT_PASSWORD}; "
                           "they must change it at next use.")
            else:
                users.delete_user(ctx, actor, user.id)
                message = f"User {user.user_code} deleted."
        except StronError as error:
            self.app.call_from_thread(self.say, str(error))
            return
        self.app.call_from_thread(self._changed, message, user.id)

    def _changed(self, message: str, user_id: int) -> None:
        self.say(message)
        self._load(user_id)


class UserFormScreen(StronScreen):
    """New user (no argument) or edit an existing one; Ctrl+S saves."""

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

    @work(thread=True, exclusive=True, group="roles")
    def _load_roles(self) -> None:
        from stron_tui.services import roles

        try:
            names = [role.name for role in roles.list_roles(self.app.ctx, self.app.actor)]
        except StronError as error:
            self.app.call_from_thread(self._say, str(error))
            return
        self.app.call_from_thread(self._set_roles, names)

    def _set_roles(self, names: list[str]) -> None:
        select = self.query_one("#role", Select)
        select.set_options([(name, name) for name in names])
        if self.user is not None and self.user.role in names:
            select.value = self.user.role

    def _say(self, message: str) -> None:
        self.query_one("#form-message", Static).update(message)

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
        self.dismiss(None)

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
        self._say("Saving...")
        self._save(values)

    @work(thread=True, exclusive=True, group="user-save")
    def _save(self, values: dict) -> None:
        from stron_tui.services import users

        ctx, actor = self.app.ctx, self.app.actor
        try:
            if self.user is None:
                info = users.create_user(ctx, actor, **values)
            else:
                info = users.update_user(ctx, actor, self.user.id, **values)
        except ValidationError as error:
            self.app.call_from_thread(self._field_error, error.field, str(error))
            return
        except StronError as error:
            self.app.call_from_thread(self._say, str(error))
            return
        self.app.call_from_thread(self.dismiss, (info, self.user is None))

    def _field_error(self, field: str | None, message: str) -> None:
        known = {"user_code", "name", "phone", "role", "station"}
        if field in known:
            self._say("")
            self.query_one(f"#field-{field}", LabeledField).show_error(message)
        else:
            self._say(message)
