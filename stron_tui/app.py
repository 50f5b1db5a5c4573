"""The Textual application shell: login, the module menus, and navigation."""

from __future__ import annotations

import asyncio

import importlib
import os
import time
from functools import partial

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.driver import Driver

from screens.registry import ENTRIES, ENTRIES_BY_KEY, allowed
from stron_tui.errors import PermissionDenied
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import MODULES, MODULES_BY_KEY, Actor


class ScreenCommands(Provider):
    """The command palette reaches every screen the operator may open."""

    def _commands(self):
        app = self.app
        actor = getattr(app, "actor", None)
        if actor is None:
            return
        for module in actor.visible_modules():
            yield f"{module.title}", f"Open the {module.title} menu ({app.key_display(f'module.{module.key}', module.function_key).upper()})", partial(
                app.open_module, module.key
            )
        for entry in ENTRIES:
            if allowed(entry, actor):
                module = MODULES_BY_KEY[entry.module]
                yield f"{module.title}: {entry.title}", entry.description, partial(app.open_entry, entry.key)
        yield "Log out", "End this session and return to the login screen", app.action_logout

    async def discover(self) -> Hits:
        for title, help_text, command in self._commands():
            yield DiscoveryHit(title, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, command in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), command, text=title, help=help_text)


class StronApp(App):
    CSS_PATH = "app.tcss"
    # Low-bandwidth / plain terminals: ASCII borders when the station asks for them (see ascii_wanted).
    CSS = """
    StronApp.-ascii .dialog { border: ascii $primary; }
    StronApp.-ascii OptionList { border: ascii $border-blurred; }
    StronApp.-ascii OptionList:focus { border: ascii $border; }
    StronApp.-ascii Toast { border-left: none; }
    """
    TITLE = "stron-tui"
    # Screens narrower than the 80-column design size get "-narrow": two-column screens give the right
    # column (receipt, token) the room, so the token never wraps at 60 columns or more.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-normal")]
    COMMANDS = App.COMMANDS | {ScreenCommands}
    BINDINGS = [
        Binding("f1", "show_keys", "Keys", show=False, id="app.keys"),
        Binding("f10", "logout", "Log out", show=False, id="app.logout"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),
    ]

    def __init__(self, ctx: AppContext, *, source: str = "tui", actor: Actor | None = None,
                 low_bandwidth: bool | None = None, driver_class: type[Driver] | None = None):
        super().__init__(driver_class=driver_class)
        self.ctx = ctx
        self.source = source
        self.actor: Actor | None = None
        self._preauthenticated = actor
        self.low_bandwidth = ctx.settings.low_bandwidth if low_bandwidth is None else low_bandwidth
        self.ascii_borders = ascii_wanted(ctx.settings.ascii)
        self._station_label = ""
        # Idle lock: the last key is noted on every input event; one timer, re-armed
        # only when it fires, checks it (timers don't repaint, so idle stays silent).
        self.idle_lock_seconds: float = ctx.settings.idle_lock_minutes * 60
        self.session_locked = False
        self._last_input = time.monotonic()
        self._idle_timer = None
        # Told of every login (the Actor) and logout (None): the SSH server keeps a dropped station's
        # session for its user only while someone is logged in (ssh/session.py, ssh/resume.py).
        self.on_session_change = None
        # The SSH key an SSH session logged in with ("" otherwise): its printing setting, when it has one,
        # decides for this terminal over the station's (System > SSH keys).
        self.key_fingerprint = ""

    # Start-up and sessions -------------------------------------------------

    async def on_mount(self) -> None:
        if self.ascii_borders:
            self.add_class("-ascii")
        if self.low_bandwidth:
            # The terminal's own 16 colours: short escape codes, and the station's palette reads well.
            self.theme = "ansi-dark"
        self._arm_idle_timer(self.idle_lock_seconds)
        self._apply_keymap(self.ctx.settings.keymap)
        if self._preauthenticated is not None:
            await self.after_login(self._preauthenticated)
            return
        from stron_tui.services import auth

        # Database calls run off the UI thread; start-up waits for the answer (keys queue meanwhile).
        if await asyncio.to_thread(auth.admin_needs_password, self.ctx):
            from screens.login import FirstStartScreen

            self.push_screen(FirstStartScreen())
        else:
            self.show_login()

    def _apply_keymap(self, keymap: dict[str, str]) -> None:
        """The user's own keys (settings [keymap]); an id no screen has is named, not silently ignored."""
        if not keymap:
            return
        from screens.keys import all_binding_ids

        unknown = sorted(set(keymap) - all_binding_ids())
        if unknown:
            self.notify(f"The keymap names no key {', '.join(unknown)}; F1 on a screen lists its key ids.",
                        severity="warning", timeout=10)
        self.set_keymap({binding_id: keys for binding_id, keys in keymap.items() if binding_id not in unknown})

    def key_display(self, binding_id: str, default: str) -> str:
        """How a key is shown in text (menus, hints) once the keymap has moved it."""
        keys = self._keymap.get(binding_id, default)
        return self.get_key_display(Binding(keys.split(",")[0], ""))

    def action_show_keys(self) -> None:
        from screens.help import KeysScreen

        if isinstance(self.screen, KeysScreen):
            return
        self.push_screen(KeysScreen(self.screen))

    def show_login(self, user_code: str = "", notice: str = "") -> None:
        from screens.login import LoginScreen

        if self.actor is not None:  # the next login at this terminal comes from the same address
            self.last_remote = self.actor.remote
        self.actor = None
        self._station_label = ""
        if self.on_session_change is not None:
            self.on_session_change(None)
        self._end_lock()
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(LoginScreen(user_code, notice))

    async def after_login(self, actor: Actor) -> None:
        self.actor = actor
        if self.on_session_change is not None:
            self.on_session_change(actor)
        self._station_label, payment_temporary = await asyncio.to_thread(self._login_facts, actor)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        if payment_temporary:
            from dataclasses import replace

            # A temporary payment password (after a reset) is replaced before the first sale, too.
            self.actor = actor = replace(actor, must_change_password=True)
        if actor.must_change_password:
            from screens.login import ChangePasswordScreen

            self.push_screen(ChangePasswordScreen(forced=True))
        else:
            self._show_menu()

    def password_changed(self) -> None:
        from dataclasses import replace

        self.actor = replace(self.actor, must_change_password=False)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self._show_menu()

    def _show_menu(self) -> None:
        from screens.menu import MainMenuScreen

        self.push_screen(MainMenuScreen())

    def _login_facts(self, actor: Actor) -> tuple[str, bool]:
        """Read in a worker thread: the station's label, and whether the payment password is still temporary."""
        from stron_tui.services import auth
        from stron_tui.services.stations import station_label

        station = station_label(self.ctx, actor.station_id)
        confirms_with_payment_password = actor.can("topup.vend") or actor.can_use_module("exceptions")
        payment_temporary = (not actor.must_change_password and actor.user_id is not None
                             and confirms_with_payment_password
                             and auth.password_state(self.ctx, actor).payment_temporary)
        return station, payment_temporary

    def _sale_open(self) -> bool:
        """A screen below holds a sale that was typed but not sold (see TopUpScreen.sale_in_progress)."""
        return any(getattr(screen, "sale_in_progress", lambda: False)() for screen in self.screen_stack)

    def ask_before_dropping_sale(self, what: str, then) -> bool:
        """Ask before `what` drops an unfinished sale; True when it asked (and `then` runs on yes)."""
        if not self._sale_open():
            return False
        from widgets.confirm import ConfirmScreen

        self.push_screen(ConfirmScreen(f"{what} and drop the sale in progress?",
                                       "It is not finished; nothing was sold."),
                         lambda yes: then() if yes else None)
        return True

    async def action_quit(self) -> None:
        """Ctrl+Q: at once, unless a sale is open (then it asks, like every other way out)."""
        if not self.ask_before_dropping_sale("Quit", self.exit):
            self.exit()

    async def action_logout(self) -> None:
        if self.actor is None:
            return
        if self.ask_before_dropping_sale("Log out", self._log_out):
            return
        await self._log_out()

    async def _log_out(self) -> None:
        if self.actor is not None:
            await self.end_session(self.actor.user_code, "Logged out.")

    async def end_session(self, user_code: str, notice: str) -> None:
        """Log the operator out (the audit row written off the UI thread) and show the login screen."""
        from stron_tui.services import auth

        actor = self.actor
        if actor is not None:
            await asyncio.to_thread(auth.logout, self.ctx, actor)
        self.show_login(user_code, notice)

    # Navigation -------------------------------------------------------------

    def _can_navigate(self) -> bool:
        return self.actor is not None and not self.actor.must_change_password and not self.session_locked

    # Idle lock ---------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.Paste)):
            self._last_input = time.monotonic()
        if isinstance(event, events.Key) and not event.is_forwarded:
            # Where the key was sent (see on_key): the screen then shown, and whether a field of it had the focus.
            event.typed_on, event.typed_unfocused = self.screen, self.focused is None
        await super().on_event(event)

    def on_key(self, event: events.Key) -> None:
        """A key that went through a screen unused, because it came before that screen's answer was shown.

        Keys are sent where the focus is when they arrive, before the keys ahead of them are handled: in a
        burst (typed quickly, or bunched over a slow link) the keys after F2 on the menu reach the menu, and
        those before the new screen has a focused field reach the screen itself, and both would be dropped.
        They go on, in order, to where the focus is now (the new screen's field), as if typed there.
        """
        typed_on = getattr(event, "typed_on", None)
        if typed_on is None:
            return
        moved_on = typed_on is not self.screen
        if not moved_on and not (event.typed_unfocused and self.focused is not None):
            return  # the screen it was typed on had it: the bindings (App._on_key) decide
        target = self.focused or self.screen
        event.prevent_default()  # not this key's bindings: the one sent on is checked where it lands
        event.stop()
        again = events.Key(event.key, event.character)
        again.set_sender(self)
        again.typed_on, again.typed_unfocused = self.screen, self.focused is None
        target._forward_event(again)

    def set_idle_lock(self, seconds: float) -> None:
        """Change the idle time before the session locks, counting from now."""
        self.idle_lock_seconds = seconds
        self._last_input = time.monotonic()
        self._arm_idle_timer(seconds)

    def _arm_idle_timer(self, seconds: float) -> None:
        if self._idle_timer is not None:
            self._idle_timer.stop()
        self._idle_timer = self.set_timer(max(seconds, 0.05), self._idle_check, name="idle-lock")

    def _idle_check(self) -> None:
        remaining = self.idle_lock_seconds - (time.monotonic() - self._last_input)
        if remaining > 0 or self.actor is None or self.session_locked:
            self._arm_idle_timer(remaining if remaining > 0 else self.idle_lock_seconds)
            return
        self.lock_session()

    def lock_session(self) -> None:
        """Cover the current screen until the operator's password is given again."""
        if self.actor is None or self.session_locked:
            return
        from screens.login import LockScreen

        self.session_locked = True
        self.use_command_palette = False
        self.push_screen(LockScreen(minutes=self.idle_lock_seconds / 60))

    def unlock_session(self) -> None:
        if not self.session_locked:
            return
        self._end_lock()
        self.pop_screen()

    def _end_lock(self) -> None:
        self.session_locked = False
        self.use_command_palette = self.ENABLE_COMMAND_PALETTE
        self._last_input = time.monotonic()
        if self.is_running:
            self._arm_idle_timer(self.idle_lock_seconds)

    def action_open_module(self, module_key: str) -> None:
        self.open_module(module_key)

    def action_open_entry(self, key: str) -> None:
        self.open_entry(key)

    def open_module(self, module_key: str) -> None:
        if not self._can_navigate():
            return
        if not self.actor.can_use_module(module_key):
            self.notify(f"You may not use {MODULES_BY_KEY[module_key].title}.", severity="warning")
            return
        title = MODULES_BY_KEY[module_key].title
        if self.ask_before_dropping_sale(f"Open {title}", lambda: self._open_module(module_key)):
            return
        self._open_module(module_key)

    def _open_module(self, module_key: str) -> None:
        self._back_to_menu()
        if module_key == "topup" and self.actor.can("topup.vend"):
            # The Top-up Center is the sale itself: one key from the menu to selling.
            self.open_entry("topup.amount")
            return
        from screens.menu import ModuleScreen

        self.push_screen(ModuleScreen(module_key))

    def open_entry(self, key: str) -> None:
        if not self._can_navigate():
            return
        entry = ENTRIES_BY_KEY[key]
        if not allowed(entry, self.actor):
            self.notify(str(PermissionDenied(f"You may not open {entry.title}.")), severity="warning")
            return
        if entry.target is None:
            from screens.placeholder import NotBuiltScreen

            screen = NotBuiltScreen(entry.title, entry.description)
        else:
            module_name, class_name = entry.target.split(":")
            screen = getattr(importlib.import_module(module_name), class_name)()
        self.push_screen(screen)

    def _back_to_menu(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    # Status line --------------------------------------------------------------

    def show_status(self, status_line) -> None:
        actor = self.actor
        status_line.show(
            operator=(actor.user_code if actor else ""),
            station=self._station_label,
            database=self.ctx.db.short_label,
            note="low bandwidth" if self.low_bandwidth else "",
        )

    # Printing at the station -------------------------------------------------

    @property
    def remote(self) -> bool:
        """A session over SSH: files it saves are fetched over SFTP, not opened on this machine."""
        return self.source == "ssh"

    def where_saved(self, paths) -> str:
        from stron_tui.exports.files import where_saved

        return where_saved(self.ctx.settings, paths, self.actor.user_id if self.actor else None, self.remote)

    def print_receipt(self, receipt) -> None:
        """Print where the session prints through its terminal (the SSH key it logged in with, else the
        Sales Station Library's Printing); everywhere else save the receipt and say where it is."""
        self._print_receipt(receipt)

    @work(thread=True, group="print-receipt")
    def _print_receipt(self, receipt) -> None:
        from stron_tui.errors import StronError
        from stron_tui.services.receipts import print_receipt

        actor = self.actor
        if actor is None:
            return
        driver = self._driver

        def to_terminal(data: str) -> None:  # queued after the frames already written: the print stays whole
            self.call_from_thread(driver.write, data)

        has_terminal = driver is not None and not self.is_headless
        try:
            outcome = print_receipt(self.ctx, actor, receipt, terminal=to_terminal if has_terminal else None,
                                    key_fingerprint=self.key_fingerprint,
                                    remote=self.remote)
        except StronError as error:
            self.call_from_thread(self.notify, str(error), severity="error")
            return
        self.call_from_thread(self.notify, outcome.message, timeout=10 if outcome.paths else 5)


def ascii_wanted(asked: bool, environ=None) -> bool:
    """ASCII borders when the station asks (the `ascii` setting, STRON_ASCII=1) or its locale is not UTF-8
    (e.g. LANG=C)."""
    if asked:
        return True
    env = os.environ if environ is None else environ
    locale = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or ""
    return bool(locale) and "utf-8" not in locale.lower() and "utf8" not in locale.lower()


def run_app(ctx: AppContext, *, source: str = "tui", actor: Actor | None = None, prepare=None,
            driver_class: type[Driver] | None = None) -> int:
    """Run the app on this terminal; `prepare(app)`, when given, is called before it starts (a station
    holder's app reports its log-ins through it: ssh/session.py)."""
    low_bandwidth = ctx.settings.low_bandwidth
    app = StronApp(ctx, source=source, actor=actor, low_bandwidth=low_bandwidth, driver_class=driver_class)
    if prepare is not None:
        prepare(app)
    try:
        app.run(mouse=not low_bandwidth)
    finally:
        if app.actor is not None:
            from stron_tui.services import auth

            auth.logout(ctx, app.actor)
        ctx.close()
    return app.return_code or 0


__all__ = ["StronApp", "run_app", "MODULES"]
