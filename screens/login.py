"""Log in, first start (choose the Admin password) and the forced password change."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.widgets import Button, Input, Static

from screens.base import StronScreen
from stron_tui.errors import StronError, ValidationError
from widgets.fields import LabeledField, TextInput


class LoginScreen(StronScreen):
    """User ID and password; Enter logs in."""

    BINDINGS = [Binding("escape", "app.quit", "Quit")]

    def __init__(self, user_code: str = "", notice: str = ""):
        super().__init__()
        self._user_code = user_code
        self._notice = notice

    def compose_body(self) -> ComposeResult:
        with Center():
            with Vertical(id="login-box", classes="dialog"):
                yield Static(f"{self.app.ctx.settings.utility_name}: vending back office", classes="dialog-title",
                             markup=False)
                yield LabeledField("User ID", TextInput(self._user_code, id="user", max_length=40))
                yield LabeledField("Password", TextInput(id="password", password=True, max_length=200))
                yield Static(self._notice, id="login-message", markup=False)
                yield Static(
                    "Log in as Admin with the password chosen at first start (or by `stron-tui init`). "
                    "New users start with 123456 and must change it.",
                    classes="hint",
                    markup=False,
                )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#password" if self._user_code else "#user", Input).focus()

    @on(Input.Submitted, "#user")
    def _next(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    def _submit(self) -> None:
        user = self.query_one("#user", Input).value
        password = self.query_one("#password", Input).value
        if not user.strip():
            self._say("Enter your user ID.")
            self.query_one("#user", Input).focus()
            return
        self._say("Checking...")
        self._login(user, password)

    def _say(self, text: str) -> None:
        self.query_one("#login-message", Static).update(text)

    @work(thread=True, exclusive=True, group="login")
    def _login(self, user: str, password: str) -> None:
        from stron_tui.services import auth

        try:
            actor = auth.authenticate(self.app.ctx, user, password, source=self.app.source)
        except StronError as error:
            self.app.call_from_thread(self._failed, str(error))
            return
        self.app.call_from_thread(self.app.after_login, actor)

    def _failed(self, message: str) -> None:
        self._say(message)
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()


class FirstStartScreen(StronScreen):
    """The first start: the built-in Admin has no password yet."""

    BINDINGS = [Binding("escape", "app.quit", "Quit")]

    def compose_body(self) -> ComposeResult:
        with Center():
            with Vertical(id="first-start-box", classes="dialog"):
                yield Static("First start: choose the Admin password", classes="dialog-title")
                yield Static(
                    "Admin is the built-in operator with every right. Choose its password now "
                    "(at least 8 characters); it is also Admin's first payment password.",
                    classes="hint",
                    markup=False,
                )
                yield LabeledField("New Admin password", TextInput(id="new", password=True), id="field-new")
                yield LabeledField("Repeat it", TextInput(id="repeat", password=True), id="field-repeat")
                yield Button("Set password", id="set", variant="primary")
                yield Static("", id="first-start-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#new", Input).focus()

    @on(Input.Submitted, "#new")
    def _next(self) -> None:
        self.query_one("#repeat", Input).focus()

    @on(Input.Submitted, "#repeat")
    @on(Button.Pressed, "#set")
    def _submit(self) -> None:
        new = self.query_one("#new", Input).value
        repeat = self.query_one("#repeat", Input).value
        self.query_one("#field-new", LabeledField).show_error(None)
        if new != repeat:
            self.query_one("#field-repeat", LabeledField).show_error("The two passwords differ.")
            self.query_one("#repeat", Input).focus()
            return
        self.query_one("#field-repeat", LabeledField).show_error(None)
        self._set(new)

    @work(thread=True, exclusive=True)
    def _set(self, password: str) -> None:
        from stron_tui.services import auth

        try:
            auth.set_first_admin_password(self.app.ctx, password, source=self.app.source)
        except StronError as error:
            self.app.call_from_thread(self.query_one("#field-new", LabeledField).show_error, str(error))
            return
        self.app.call_from_thread(self.app.show_login, "Admin", "Admin password set. Log in with it now.")


class ChangePasswordScreen(StronScreen):
    """Change the operator's own login or payment password (forced after 123456)."""

    TITLE_TEXT = "Change Password"

    def __init__(self, kind: str = "login", forced: bool = False):
        super().__init__()
        self.kind = kind
        self.forced = forced

    def compose_body(self) -> ComposeResult:
        label = "payment password" if self.kind == "payment" else "login password"
        with Vertical(classes="form"):
            if self.forced:
                yield Static(
                    "You are using a temporary password. Choose your own before you continue.",
                    classes="warning",
                    markup=False,
                )
            yield Static(
                "Keys: Enter moves to the next field and saves on the last; F8 switches between "
                "login and payment password.",
                classes="hint",
            )
            yield Static(f"Change your {label}", id="kind-title", markup=False)
            yield LabeledField(f"Current {label}", TextInput(id="old", password=True), id="field-old")
            yield LabeledField(f"New {label}", TextInput(id="new", password=True), id="field-new")
            yield LabeledField("Repeat the new one", TextInput(id="repeat", password=True), id="field-repeat")
            yield Static("", id="change-message", markup=False)

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("f8", "switch_kind", "Login/payment"),
    ]

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#old", Input).focus()

    def action_back(self) -> None:
        if self.forced:
            self.notify("Choose your own password first, or press F10 to log out.", severity="warning")
            return
        self.app.pop_screen()

    def action_switch_kind(self) -> None:
        if self.forced:
            return
        self.app.switch_screen(ChangePasswordScreen("payment" if self.kind == "login" else "login"))

    @on(Input.Submitted, "#old")
    def _to_new(self) -> None:
        self.query_one("#new", Input).focus()

    @on(Input.Submitted, "#new")
    def _to_repeat(self) -> None:
        self.query_one("#repeat", Input).focus()

    @on(Input.Submitted, "#repeat")
    def _submit(self) -> None:
        for field in ("old", "new", "repeat"):
            self.query_one(f"#field-{field}", LabeledField).show_error(None)
        old = self.query_one("#old", Input).value
        new = self.query_one("#new", Input).value
        if new != self.query_one("#repeat", Input).value:
            self.query_one("#field-repeat", LabeledField).show_error("The two new passwords differ.")
            return
        self._change(old, new)

    @work(thread=True, exclusive=True)
    def _change(self, old: str, new: str) -> None:
        from stron_tui.services import auth

        try:
            auth.change_own_password(self.app.ctx, self.app.actor, old, new, kind=self.kind)
        except ValidationError as error:
            self.app.call_from_thread(self._show_error, error.field or "new", str(error))
            return
        except StronError as error:
            self.app.call_from_thread(self._show_error, "old", str(error))
            return
        self.app.call_from_thread(self._done)

    def _show_error(self, field: str, message: str) -> None:
        self.query_one(f"#field-{field if field in ('old', 'new', 'repeat') else 'new'}", LabeledField).show_error(
            message
        )

    def _done(self) -> None:
        label = "Payment password" if self.kind == "payment" else "Password"
        self.notify(f"{label} changed.")
        if self.forced:
            self.app.password_changed()
        else:
            self.app.pop_screen()
