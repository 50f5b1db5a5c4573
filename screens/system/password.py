"""Change Password: every operator's own login or payment password (also the forced first change)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from screens.base import StronScreen
from stron_tui.errors import AccountLocked, StronError, ValidationError
from stron_tui.services.passwords import MIN_LOGIN_LENGTH, MIN_PAYMENT_LENGTH
from widgets.fields import LabeledField, TextInput


class ChangePasswordScreen(StronScreen):
    """The old password is required; F8 switches between the login and the payment password."""

    TITLE_TEXT = "Change Password"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("f8", "switch_kind", "Login/payment", id="password.switch-kind"),
    ]

    def __init__(self, kind: str = "login", forced: bool = False):
        super().__init__()
        self.kind = kind
        self.forced = forced

    def compose_body(self) -> ComposeResult:
        label = "payment password" if self.kind == "payment" else "login password"
        minimum = MIN_PAYMENT_LENGTH if self.kind == "payment" else MIN_LOGIN_LENGTH
        with Vertical(classes="form"):
            if self.forced:
                yield Static(
                    "You are using a temporary password. Choose your own before you continue.",
                    classes="warning",
                    markup=False,
                )
            yield Static(
                "Keys: Enter moves to the next field and saves on the last"
                + ("." if self.forced else "; F8 switches between login and payment password."),
                classes="hint",
            )
            yield Static(f"Change your {label}", id="kind-title", markup=False)
            current = f"Current {label}"
            if self.kind == "payment":
                current += " (your login password if you have none yet)"
            yield LabeledField(current, TextInput(id="old", password=True), id="field-old")
            yield LabeledField(f"New {label}", TextInput(id="new", password=True), id="field-new")
            yield LabeledField("Repeat the new one", TextInput(id="repeat", password=True), id="field-repeat")
            yield Static(
                f"At least {minimum} characters; not your user ID, not 123456, nothing easy to guess.",
                classes="hint",
                markup=False,
            )
            yield Static("", id="change-message", markup=False)

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
            self.query_one("#repeat", Input).focus()
            return
        self.query_one("#change-message", Static).update("Saving...")
        self._change(old, new)

    @work(thread=True, exclusive=True)
    def _change(self, old: str, new: str) -> None:
        from stron_tui.services import auth

        app = self.app
        actor = app.actor
        try:
            # Checked first on its own so a locked-out operator is refused (and logged
            # out) before any change; wrong tries count toward the lockout.
            try:
                auth.verify_own_password(app.ctx, actor, old, kind=self.kind)
            except ValidationError as no_payment_password:
                if no_payment_password.field != "payment_password":
                    raise
                auth.verify_own_password(app.ctx, actor, old, kind="login")
            auth.change_own_password(app.ctx, actor, old, new, kind=self.kind)
        except AccountLocked as locked:
            app.call_from_thread(self._locked_out, actor, str(locked))
            return
        except ValidationError as error:
            app.call_from_thread(self._show_error, error.field or "new", str(error))
            return
        except StronError as error:
            app.call_from_thread(self._show_error, "old", str(error))
            return
        app.call_from_thread(self._done)

    def _show_error(self, field: str, message: str) -> None:
        field = field if field in ("old", "new", "repeat") else "new"
        self.query_one("#change-message", Static).update("")
        self.query_one(f"#field-{field}", LabeledField).show_error(message)
        self.query_one(f"#{field}", Input).focus()

    def _locked_out(self, actor, message: str) -> None:
        from stron_tui.services import auth

        auth.logout(self.app.ctx, actor)
        self.app.show_login(actor.user_code, message)

    def _done(self) -> None:
        label = "Payment password" if self.kind == "payment" else "Password"
        self.notify(f"{label} changed.")
        if self.forced:
            self.app.password_changed()
        else:
            self.app.pop_screen()
