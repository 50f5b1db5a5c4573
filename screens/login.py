"""Log in, first start (choose the Admin password), the idle lock, and the forced password change."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.widgets import Button, Input, Static

from screens.base import StronScreen
from screens.calls import call_service
from screens.system.password import ChangePasswordScreen
from stron_tui.errors import AccountLocked, PermissionDenied, StronError
from widgets.fields import LabeledField, TextInput


def confirm_quit(app) -> None:
    """Esc on the login screens closes the app (the SSH session too), after a yes."""
    from widgets.confirm import ConfirmScreen

    def answered(yes: bool | None) -> None:
        if yes:
            app.exit()

    app.push_screen(ConfirmScreen("Quit stron-tui?", "Over SSH this ends the session."), answered)


class LoginScreen(StronScreen):
    """User ID and password; Enter logs in."""

    MESSAGE_ID = "login-message"

    BINDINGS = [Binding("escape", "quit", "Quit (asks)", id="login.quit")]

    def action_quit(self) -> None:
        confirm_quit(self.app)

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
            self.say("Enter your user ID.")
            self.query_one("#user", Input).focus()
            return
        from stron_tui.services import auth

        call_service(self, auth.authenticate, self.app.ctx, user, password, source=self.app.source, remote=self._remote(),
                     with_actor=False, busy="Checking...", group="login",
                     on_success=self.app.after_login, on_error=self._failed)

    def _remote(self) -> str:
        """Where this terminal is: the address of the SSH session it came in by, or "" for the console."""
        from stron_tui.services.login_throttle import terminal_remote

        return getattr(self.app, "last_remote", "") or terminal_remote()

    def _failed(self, error: StronError) -> None:
        self.say(error.message)
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()


class FirstStartScreen(StronScreen):
    """The first start: the built-in Admin has no password yet."""

    MESSAGE_ID = "first-start-message"

    BINDINGS = [Binding("escape", "quit", "Quit (asks)", id="login.quit")]

    def action_quit(self) -> None:
        confirm_quit(self.app)

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
        from stron_tui.services import auth

        call_service(self, auth.set_first_admin_password, self.app.ctx, new, source=self.app.source, with_actor=False,
                     on_error=self._refused,
                     on_success=lambda _: self.app.show_login("Admin", "Admin password set. Log in with it now."))

    def _refused(self, error: StronError) -> None:
        """The password itself was refused (too short): said beside it, and the cursor goes back to it."""
        self.query_one("#field-new", LabeledField).show_error(error.message)
        self.query_one("#new", Input).focus()


class LockScreen(StronScreen):
    """Covers the work of an idle session until its operator types the password again.

    Wrong tries count toward the lockout; a locked-out or disabled operator is logged out.
    Another operator may log in instead, which logs the first one out.
    """

    TITLE_TEXT = "Session locked"
    MESSAGE_ID = "lock-message"
    BINDINGS = [
        Binding("escape", "stay", "Stay locked", id="login.stay"),
        Binding("f9", "other_user", "Other user", id="login.other-user"),
        Binding("f10", "app.logout", "Log out", id="login.logout"),
    ]

    def __init__(self, minutes: float = 0):
        super().__init__()
        self._minutes = minutes

    def compose_body(self) -> ComposeResult:
        actor = self.app.actor
        idle = f"after {self._minutes:g} minutes without input" if self._minutes >= 1 else "after a pause"
        with Center():
            with Vertical(id="lock-box", classes="dialog"):
                yield Static(f"Locked {idle}", classes="dialog-title", markup=False)
                yield Static(f"Your work is kept. Enter the password of {actor.user_code} to continue, "
                             "F9 to let another operator log in, F10 to log out.", classes="hint", markup=False)
                yield LabeledField("Password", TextInput(id="unlock-password", password=True, max_length=200))
                yield Static("", id="lock-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#unlock-password", Input).focus()

    def action_stay(self) -> None:
        self.query_one("#unlock-password", Input).focus()

    async def action_other_user(self) -> None:
        # The work is kept only while this operator stays: a sale left open is not dropped without a yes.
        if not self.app.ask_before_dropping_sale("Let another operator log in", self._other_user):
            await self._other_user()

    async def _other_user(self) -> None:
        await self.app.end_session("", f"{self.app.actor.user_code} was logged out. Log in.")

    @on(Input.Submitted, "#unlock-password")
    def _submit(self) -> None:
        password = self.query_one("#unlock-password", Input).value
        from stron_tui.services import auth

        actor = self.app.actor
        call_service(self, auth.verify_own_password, password, busy="Checking...", group="unlock",
                     on_success=lambda _: self.app.unlock_session(), on_error=lambda error: self._refused(actor, error))

    async def _refused(self, actor, error: StronError) -> None:
        if isinstance(error, (AccountLocked, PermissionDenied)):  # locked out, or disabled since login
            await self._locked_out(actor, error.message)
        else:
            self._failed(error.message)

    def _failed(self, message: str) -> None:
        self.say(message)
        field = self.query_one("#unlock-password", Input)
        field.value = ""
        field.focus()

    async def _locked_out(self, actor, message: str) -> None:
        await self.app.end_session(actor.user_code, message)


__all__ = ["LoginScreen", "FirstStartScreen", "LockScreen", "ChangePasswordScreen"]
