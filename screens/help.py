"""F1: every key of the screen below, with the id a keymap uses to move it.

The footer has room for the most used keys only; this screen lists them all, so
no key is hidden. It reads the bindings Textual itself would use (the screen, the
widgets on it, the app), after the user's keymap, so it never disagrees with them.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Static

from screens.base import StronScreen


@dataclass(frozen=True)
class KeyHelp:
    keys: str
    description: str
    binding_id: str


def binding_sources(screen: Screen) -> list[DOMNode]:
    """The nodes whose keys work on this screen: the screen first, its own widgets (any of them may take
    focus), then the app. Textual's stock widgets are left out: their keys are the usual editing keys."""
    widgets = [node for node in screen.walk_children(with_self=False) if _declares_our_bindings(node)]
    return [screen, *widgets, screen.app]


def _declares_our_bindings(node: DOMNode) -> bool:
    return any(binding.id for _key, binding in node._bindings)


def keys_of(screen: Screen) -> list[KeyHelp]:
    """Each binding of the screen once, with its keys as the keymap leaves them."""
    app = screen.app
    by_id: dict[str, tuple[list[str], str]] = {}
    for node in binding_sources(screen):
        bindings = node._bindings.copy()
        if app._keymap:
            bindings.apply_keymap(app._keymap)
        for _key, binding in bindings:
            if binding.system or not (binding.id or binding.action.endswith("command_palette")):
                continue
            binding_id = binding.id or "command-palette"
            keys, description = by_id.setdefault(binding_id, ([], _describe(binding)))
            shown = app.get_key_display(binding)
            if shown not in keys:
                keys.append(shown)
    return [KeyHelp(" ".join(keys), description, binding_id) for binding_id, (keys, description) in by_id.items()]


def _describe(binding: Binding) -> str:
    if binding.action.endswith("command_palette"):
        return "Find any screen or command"
    return binding.tooltip or binding.description or binding.action


class KeysScreen(StronScreen):
    """All keys of the screen it was opened on; Esc goes back to it."""

    TITLE_TEXT = "Keys of this screen (F1)"

    def __init__(self, of_screen: Screen):
        super().__init__()
        self._keys = keys_of(of_screen)
        self._title = getattr(of_screen, "TITLE_TEXT", "") or type(of_screen).__name__

    def compose_body(self) -> ComposeResult:
        width = max([len(key.keys) for key in self._keys] + [4]) + 2
        lines = [f"{'Key':<{width}}{'Does':<33} Keymap id"]
        lines += [f"{key.keys:<{width}}{key.description:<33} {key.binding_id}" for key in self._keys]
        with VerticalScroll(id="keys-list"):
            yield Static("\n".join(lines), id="keys-text", markup=False)
        yield Static(
            "Move a key in the settings file: [keymap] then \"id\" = \"key\". Esc goes back.",
            classes="hint",
            markup=False,
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#keys-list").focus()

    def action_back(self) -> None:
        self.app.pop_screen()
