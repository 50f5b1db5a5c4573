"""API Accounts: partners' keys for the integration HTTP API (System Management).

The list shows every account; the form below creates one. A new or rotated
key is shown once on this screen and never again: the database keeps only
its hash.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from screens.base import StronScreen
from screens.calls import call_service
from stron_tui.errors import StronError
from widgets.fields import LabeledField, TextInput

FIELD_OF = {"name": "#field-name", "role": "#field-role", "station": "#field-station",
            "rate_limit_per_minute": "#field-rate"}


class ApiAccountsScreen(StronScreen):
    """Enter in the form creates an account; in the list, F5 rotates the key and F6 enables or disables."""
    MESSAGE_ID = "accounts-message"

    TITLE_TEXT = "API Accounts for the integration API"
    DEFAULT_CSS = """
    ApiAccountsScreen #accounts { height: 1fr; min-height: 3; }
    ApiAccountsScreen LabeledField { margin: 0; }
    ApiAccountsScreen #new-key { height: auto; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("f2", "create", "Create", id="api-accounts.create"),
        Binding("f5", "rotate", "New key", id="api-accounts.rotate"),
        Binding("f6", "toggle", "Enable/Disable", id="api-accounts.toggle"),
    ]

    def __init__(self):
        super().__init__()
        self.accounts = []

    def compose_body(self) -> ComposeResult:
        yield Static(f"{'Name':<16} {'Role':<12} {'Station':<7} {'State':<8} {'/min':>6}  Key starts",
                     classes="hint", markup=False)
        yield OptionList(id="accounts")
        yield LabeledField("Name of the new account", TextInput(id="name", max_length=60), id="field-name")
        yield LabeledField("Role (e.g. OnlyVending)", TextInput(id="role", max_length=60), id="field-role")
        yield LabeledField("Sales station ID (optional)", TextInput(id="station", max_length=20),
                           id="field-station")
        yield LabeledField("Requests per minute", TextInput(id="rate", value="600", max_length=6), id="field-rate")
        yield Static("", id="new-key", markup=False)
        yield Static("", id="accounts-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#name", Input).focus()
        self._load()


    def _load(self) -> None:
        from stron_tui.services.api_accounts import list_accounts

        call_service(self, list_accounts, group="api-accounts",
                     on_success=self._show)

    def _show(self, accounts) -> None:
        self.accounts = accounts
        options = self.query_one("#accounts", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for account in accounts:
            state = "enabled" if account.enabled else "disabled"
            options.add_option(Option(f"{account.name[:16]:<16} {account.role[:12]:<12} {account.station_code[:7]:<7} "
                                      f"{state:<8} {account.rate_limit_per_minute:>6}  stron_{account.key_prefix}",
                                      id=str(account.id)))
        if accounts and highlighted is not None:
            options.highlighted = min(highlighted, len(accounts) - 1)
        if not accounts:
            self.say("No API accounts yet: fill in the form and press Enter.")

    def _show_key(self, label: str, key: str) -> None:
        self.query_one("#new-key", Static).update(f"{label}, shown only now; copy it to the partner:\n{key}")

    # ---------------------------------------------------------------- create

    @on(Input.Submitted, "#name")
    @on(Input.Submitted, "#role")
    @on(Input.Submitted, "#station")
    @on(Input.Submitted, "#rate")
    def _submitted(self) -> None:
        self.action_create()

    def action_create(self) -> None:
        for selector in FIELD_OF.values():
            self.query_one(selector, LabeledField).show_error(None)
        values = {name: self.query_one(f"#{name}", Input).value for name in ("name", "role", "station", "rate")}
        self._create(values)

    def _create(self, values: dict) -> None:
        from stron_tui.services.api_accounts import create_account

        call_service(self, create_account, name=values["name"], role=values["role"], station_code=values["station"],
                     rate_limit_per_minute=values["rate"], group="api-accounts-change", on_success=self._created,
                     on_error=self._failed)

    def _failed(self, error: StronError) -> None:
        field = FIELD_OF.get(getattr(error, "field", None) or "")
        if field:
            self.query_one(field, LabeledField).show_error(error.message)
        else:
            self.say(error.message)

    def _created(self, issued) -> None:
        for name in ("name", "role", "station"):
            self.query_one(f"#{name}", Input).value = ""
        self._show_key(f"Key of {issued.account.name}", issued.api_key)
        self.say(f"Created API account {issued.account.name} with role {issued.account.role}.")
        self._load()

    # ---------------------------------------------------------------- the chosen account

    def _chosen(self):
        options = self.query_one("#accounts", OptionList)
        if options.highlighted is None or not options.option_count:
            self.say("Choose an account in the list first (Tab to the list, then the arrow keys).")
            return None
        wanted = int(options.get_option_at_index(options.highlighted).id)
        return next((a for a in self.accounts if a.id == wanted), None)

    def action_rotate(self) -> None:
        account = self._chosen()
        if account is None:
            return
        from widgets.confirm import ConfirmScreen

        question = (f"Give {account.name} a new key? The current key stops working at once; "
                    "the partner must install the new one.")

        def answered(yes: bool | None) -> None:
            if yes:
                self._rotate(account.id)

        self.app.push_screen(ConfirmScreen("New API key", question), answered)

    def _rotate(self, account_id: int) -> None:
        from stron_tui.services.api_accounts import rotate_key

        call_service(self, rotate_key, account_id, group="api-accounts-change", on_success=self._rotated)

    def _rotated(self, issued) -> None:
        self._show_key(f"New key of {issued.account.name}", issued.api_key)
        self.say(f"{issued.account.name} has a new key; the old one no longer works.")
        self._load()

    def action_toggle(self) -> None:
        account = self._chosen()
        if account is not None:
            self._toggle(account.id, not account.enabled)

    def _toggle(self, account_id: int, enabled: bool) -> None:
        from stron_tui.services.api_accounts import set_enabled

        call_service(self, set_enabled, account_id, enabled, group="api-accounts-change", on_success=self._toggled)

    def _toggled(self, info) -> None:
        self.say(f"{info.name} is {'enabled' if info.enabled else 'disabled'}.")
        self._load()
