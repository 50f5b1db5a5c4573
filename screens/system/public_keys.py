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


PRINTING_SAID = {
    "station": "receipts print as its station's Printing says.",
    "terminal": "P sends receipts to this terminal's printer (transparent print).",
    "none": "P saves receipts as files (fetched over SFTP), whatever the station says.",
}


def key_line(key) -> str:
    """One key in the list, within 80 columns: the printing setting first, so it is never the part cut."""
    from stron_tui.services.public_keys import KEY_PRINTING

    return f"{KEY_PRINTING[key.printing]:<15} {key.algorithm[:11]:<11} {key.fingerprint[7:31]}.. {key.comment[:18]}"


def next_key_printing(ctx, actor, user_code: str, key_id: int):
    """F7: the key's printing moves to the next setting (station default, prints, saves files); returns the
    changed key and the user's keys as they are now."""
    from stron_tui.errors import NotFound
    from stron_tui.services.public_keys import KEY_PRINTING, list_keys, set_key_printing

    current = next((key for key in list_keys(ctx, actor, user_code) if key.id == key_id), None)
    if current is None:
        raise NotFound("That key is no longer registered.")
    order = list(KEY_PRINTING)
    changed = set_key_printing(ctx, actor, key_id, order[(order.index(current.printing) + 1) % len(order)])
    return changed, list_keys(ctx, actor, user_code)


class PublicKeysScreen(StronScreen):
    """Type a user ID and Enter to list their keys; paste a public key and Enter to add it; Del removes;
    F7 on a key changes how the terminal holding it prints (station default, prints, saves files)."""
    MESSAGE_ID = "keys-message"

    TITLE_TEXT = "SSH Keys for remote stations"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("delete", "remove_key", "Remove key", id="ssh-keys.remove-key"),
        Binding("f7", "key_printing", "Printing", id="ssh-keys.printing"),
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
        highlighted = options.highlighted
        options.clear_options()
        for key in keys:
            options.add_option(Option(key_line(key), id=str(key.id)))
        if keys and highlighted is not None:  # the same key stays chosen after a change
            options.highlighted = min(highlighted, len(keys) - 1)
        self.say(f"{len(keys)} key(s) for {user_code}; F7 on a key: how its terminal prints." if keys
                 else f"{user_code} has no SSH keys yet.")
        if self.focused is not options:
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

    def action_key_printing(self) -> None:
        options = self.query_one("#keys", OptionList)
        if options.highlighted is None or not options.option_count:
            self.say("Choose a key in the list first (Tab, then the arrow keys).")
            return
        call_service(self, next_key_printing, self.user_code, int(options.get_option_at_index(options.highlighted).id),
                     group="keys-change", on_success=self._printing_changed)

    def _printing_changed(self, result) -> None:
        changed, keys = result
        self._show(self.user_code, keys)
        self.say(f"Key {changed.fingerprint[:20]}...: {PRINTING_SAID[changed.printing]}")

    def _remove(self, key_id: int) -> None:
        from stron_tui.services.public_keys import remove_key

        call_service(self, remove_key, key_id, group="keys-change",
                     on_success=lambda _: self._load(self.user_code))
