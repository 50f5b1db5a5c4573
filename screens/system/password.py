"""Change Password: every operator's own login or payment password, and the forced first change.

The forced change after a temporary password (123456) sets every password
that is still temporary on one screen, so the first sale is never refused
for a temporary payment password.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from screens.base import StronScreen
from screens.calls import call_service
from stron_tui.errors import AccountLocked, StronError, ValidationError
from stron_tui.services.passwords import MIN_LOGIN_LENGTH, MIN_PAYMENT_LENGTH
from widgets.fields import LabeledField, TextInput


def change_password(ctx, actor, kind: str, old: str, new: str) -> None:
    """Change the operator's login or payment password, the old one checked first.

    Checked on its own first so a locked-out operator is refused (and logged out) before any change;
    wrong tries count toward the lockout. Who has no payment password yet proves who they are with the
    login password.
    """
    from stron_tui.services import auth

    try:
        auth.verify_own_password(ctx, actor, old, kind=kind)
    except ValidationError as no_payment_password:
        if no_payment_password.field != "payment_password":
            raise
        auth.verify_own_password(ctx, actor, old, kind="login")
    auth.change_own_password(ctx, actor, old, new, kind=kind)


class ChangePasswordScreen(StronScreen):
    """The old password is required; F8 switches between the login and the payment password."""

    TITLE_TEXT = "Change Password"
    MESSAGE_ID = "change-message"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("escape", "log_out", "Log out", id="password.log-out"),  # the forced change: Esc asks, then logs out
        Binding("f8", "switch_kind", "Login/payment", id="password.switch-kind"),
    ]

    def __init__(self, kind: str = "login", forced: bool = False):
        super().__init__()
        self.kind = kind
        self.forced = forced
        self.state = None

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "back":
            return not self.forced
        if action in ("log_out", "switch_kind"):
            return self.forced if action == "log_out" else not self.forced
        return True

    def field_order(self) -> list[str]:
        """The inputs in Enter order; Enter on the last saves."""
        if not self.forced:
            return ["old", "new", "repeat"]
        order = ["old"]
        if self.state.login_temporary:
            order += ["new", "repeat"]
        if self.state.payment_temporary:
            order += ["pay-new", "pay-repeat"]
        return order

    def load_before_compose(self) -> None:
        from stron_tui.services import auth

        # Which passwords are temporary decides the fields.
        self.state = auth.password_state(self.app.ctx, self.app.actor)

    def compose_body(self) -> ComposeResult:
        if self.forced:
            yield from self._compose_forced()
            return
        label = "payment password" if self.kind == "payment" else "login password"
        minimum = MIN_PAYMENT_LENGTH if self.kind == "payment" else MIN_LOGIN_LENGTH
        with Vertical(classes="form"):
            yield Static("Keys: Enter moves to the next field and saves on the last; "
                         "F8 switches between login and payment password.", classes="hint")
            yield Static(f"Change your {label}", id="kind-title", markup=False)
            # Who has no payment password yet proves who they are with the login password.
            current = ("Current payment password" if self.kind == "payment" and self.state.has_payment_password
                       else "Current login password")
            yield LabeledField(current, TextInput(id="old", password=True, max_length=200), id="field-old")
            yield LabeledField(f"New {label}", TextInput(id="new", password=True, max_length=200), id="field-new")
            yield LabeledField(f"Repeat the new {label}", TextInput(id="repeat", password=True, max_length=200),
                               id="field-repeat")
            yield Static(
                f"At least {minimum} characters; not your user ID, not 123456, nothing easy to guess.",
                classes="hint",
                markup=False,
            )
            yield Static("", id="change-message", markup=False)

    def _compose_forced(self) -> ComposeResult:
        both = self.state.login_temporary and self.state.payment_temporary
        what = "login and payment passwords" if both else (
            "login password" if self.state.login_temporary else "payment password")
        with Vertical(classes="form"):
            yield Static(f"Your {what} {'are' if both else 'is'} temporary (123456). Choose your own now; "
                         f"Enter moves on and saves on the last field.", classes="warning", markup=False)
            yield Static(f"Change your {what}", id="kind-title", markup=False)
            yield LabeledField("Current login password (the one you just logged in with)",
                               TextInput(id="old", password=True, max_length=200), id="field-old")
            if self.state.login_temporary:
                yield LabeledField(f"New login password (at least {MIN_LOGIN_LENGTH} characters)",
                                   TextInput(id="new", password=True, max_length=200), id="field-new")
                yield LabeledField("Repeat the new login password",
                                   TextInput(id="repeat", password=True, max_length=200), id="field-repeat")
            if self.state.payment_temporary:
                yield LabeledField(f"New payment password, confirms each sale (at least {MIN_PAYMENT_LENGTH})",
                                   TextInput(id="pay-new", password=True, max_length=200), id="field-pay-new")
                yield LabeledField("Repeat the new payment password",
                                   TextInput(id="pay-repeat", password=True, max_length=200),
                                   id="field-pay-repeat")
            yield Static("", id="change-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#old", Input).focus()

    def action_back(self) -> None:
        self.leave_asking(self.app.pop_screen)

    def action_log_out(self) -> None:
        from widgets.confirm import ConfirmScreen

        async def answered(yes: bool | None) -> None:
            if yes:
                await self.app.action_logout()

        self.app.push_screen(ConfirmScreen("Log out without choosing your own password?",
                                           "You will be asked again at the next login."), answered)

    def action_switch_kind(self) -> None:
        self.app.switch_screen(ChangePasswordScreen("payment" if self.kind == "login" else "login"))

    @on(Input.Submitted)
    def _next_or_save(self, event: Input.Submitted) -> None:
        order = self.field_order()
        if event.input.id not in order:
            return
        position = order.index(event.input.id)
        if position < len(order) - 1:
            self.query_one(f"#{order[position + 1]}", Input).focus()
        else:
            self._submit()

    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value

    def _submit(self) -> None:
        order = self.field_order()
        for field in order:
            self.query_one(f"#field-{field}", LabeledField).show_error(None)
        for new, repeat, label in (("new", "repeat", "new passwords"), ("pay-new", "pay-repeat",
                                                                       "new payment passwords")):
            if new in order and self._value(new) != self._value(repeat):
                self._show_error(repeat, f"The two {label if self.forced else 'new passwords'} differ.")
                return
        self.say("Saving...")
        if self.forced:
            self._replace_temporary(self._value("old"), self._value("new") if "new" in order else None,
                                    self._value("pay-new") if "pay-new" in order else None)
        else:
            self._change(self._value("old"), self._value("new"))

    def _replace_temporary(self, old: str, new_login: str | None, new_payment: str | None) -> None:
        from stron_tui.services import auth

        actor = self.app.actor
        call_service(self, auth.replace_temporary_passwords, old, new_login=new_login, new_payment=new_payment,
                     on_success=lambda _: self._done(),
                     on_error=lambda error: self._refused(actor, error, no_new_login=new_login is None))

    def _change(self, old: str, new: str) -> None:
        actor = self.app.actor
        call_service(self, change_password, self.kind, old, new, on_success=lambda _: self._done(),
                     on_error=lambda error: self._refused(actor, error))

    async def _refused(self, actor, error: StronError, *, no_new_login: bool = False) -> None:
        if isinstance(error, AccountLocked):
            await self._locked_out(actor, error.message)
        elif isinstance(error, ValidationError):
            field = {"new_payment": "pay-new"}.get(error.field, error.field)
            if field == "new" and no_new_login:
                field = "pay-new"
            self._show_error(field or "new", error.message)
        else:
            self._show_error("old", error.message)

    def _show_error(self, field: str, message: str) -> None:
        field = field if field in self.field_order() else self.field_order()[1]
        self.say("")
        self.query_one(f"#field-{field}", LabeledField).show_error(message)
        self.query_one(f"#{field}", Input).focus()

    async def _locked_out(self, actor, message: str) -> None:
        await self.app.end_session(actor.user_code, message)

    def _done(self) -> None:
        if self.forced:
            self.notify("Your own passwords are set.")
            self.app.password_changed()
            return
        label = "Payment password" if self.kind == "payment" else "Password"
        self.notify(f"{label} changed.")
        self.app.pop_screen()
