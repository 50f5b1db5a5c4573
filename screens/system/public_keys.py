"""SSH Keys: the public keys a user may log in with at a remote station (System Management)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from screens.base import StronScreen
from screens.calls import call_service
from widgets.fields import LabeledField, TextInput


class PublicKeysScreen(StronScreen):
    """Type a user ID and Enter to list their keys; paste a public key and Enter to add it; Del removes."""
    MESSAGE_ID = "keys-message"

    TITLE_TEXT = "SSH Keys for remote stations"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("delete", "remove_key", "Remove key", id="ssh-keys.remove-key"),
    ]

    def __init__(self):
        super().__init__()
        self.user_code = ""

    def compose_body(self) -> ComposeResult:
        yield LabeledField("User ID (Enter lists the keys)", TextInput(id="user", max_length=40), id="field-user")
        yield OptionList(id="keys")
        yield LabeledField("Public key to add (ssh-ed25519 AAAA... ; Enter adds)",
                           TextInput(id="key", max_length=16000), id="field-key")
        yield LabeledField("Label, e.g. the station PC", TextInput(id="comment", max_length=200), id="field-comment")
        yield Static("", id="keys-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#user", Input).focus()


    @on(Input.Submitted, "#user")
    def _user_chosen(self, event: Input.Submitted) -> None:
        self._load(event.value.strip())

    def _load(self, user_code: str) -> None:
        from stron_tui.services.public_keys import list_keys

        call_service(self, list_keys, user_code, group="keys",
                     on_success=lambda keys: self._show(user_code, keys),
                     on_error=lambda error: self.query_one("#field-user", LabeledField).show_error(error.message))

    def _show(self, user_code: str, keys) -> None:
        self.user_code = user_code
        self.query_one("#field-user", LabeledField).show_error(None)
        options = self.query_one("#keys", OptionList)
        options.clear_options()
        for key in keys:
            options.add_option(Option(f"{key.algorithm:<20} {key.fingerprint}  {key.comment[:30]}", id=str(key.id)))
        self.say(f"{len(keys)} key(s) for {user_code}." if keys else f"{user_code} has no SSH keys yet.")
        self.query_one("#key", Input).focus()

    @on(Input.Submitted, "#key")
    @on(Input.Submitted, "#comment")
    def _add_requested(self) -> None:
        if not self.user_code:
            self.query_one("#field-user", LabeledField).show_error("Type the user ID and press Enter first.")
            self.query_one("#user", Input).focus()
            return
        self._add(self.user_code, self.query_one("#key", Input).value, self.query_one("#comment", Input).value)

    def _add(self, user_code: str, key_text: str, comment: str) -> None:
        from stron_tui.services.public_keys import add_key

        call_service(self, add_key, user_code, key_text, comment, group="keys-change",
                     on_success=self._added,
                     on_error=lambda error: self.query_one("#field-key", LabeledField).show_error(error.message))

    def _added(self, added) -> None:
        self.query_one("#field-key", LabeledField).show_error(None)
        for selector in ("#key", "#comment"):
            self.query_one(selector, Input).value = ""
        self._load(self.user_code)
        self.say(f"Added {added.fingerprint} for {added.user_code}.")

    def action_remove_key(self) -> None:
        options = self.query_one("#keys", OptionList)
        if options.highlighted is None or not options.option_count:
            self.say("Choose a key in the list first (Tab, then the arrow keys).")
            return
        self._remove(int(options.get_option_at_index(options.highlighted).id))

    def _remove(self, key_id: int) -> None:
        from stron_tui.services.public_keys import remove_key

        call_service(self, remove_key, key_id, group="keys-change",
                     on_success=lambda _: self._load(self.user_code))
