"""Every key of every screen is findable at 80x24: in the footer uncut, or in F1's list; none is
shadowed by an app-wide priority key; each has an id, and the [keymap] setting moves keys by id."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import Footer, Static
from textual.widgets._footer import FooterKey

from screens.help import KeysScreen
from screens.login import LockScreen, LoginScreen
from screens.menu import MainMenuScreen, ModuleScreen
from screens.registry import ENTRIES
from stron_tui.app import StronApp
from stron_tui.services.permissions import MODULES
from tests.factories import build_world
from tests.screens.keyboard import settle

SIZE = (80, 24)
OUR_PACKAGES = {"screens", "widgets", "stron_tui"}
ESC_SHOWN_ELSEWHERE: set[str] = set()  # every screen, the main menu included, shows its Esc


def our_bindings(screen):
    """(node, binding) for every binding our own screen and widgets declare, as the keymap leaves it."""
    found = []
    for node in [screen, *screen.walk_children(with_self=False)]:
        declared = {(binding.key, binding.action) for cls in type(node).__mro__
                    if cls.__module__.split(".")[0] in OUR_PACKAGES for binding in cls.__dict__.get("BINDINGS", [])}
        if not declared:
            continue
        bindings = node._bindings.copy()
        if screen.app._keymap:
            bindings.apply_keymap(screen.app._keymap)
        found += [(node, binding) for _key, binding in bindings
                  if binding.id or (binding.key, binding.action) in declared]
    return found


def priority_keys(app):
    return {key: binding for key, binding in app._bindings if binding.priority}


async def problems_of(app, pilot) -> list[str]:
    """What a user would trip over on the current screen."""
    screen = app.screen
    name = type(screen).__name__
    problems = []
    footer = screen.query_one(Footer)
    keys = [key for key in footer.query(FooterKey) if not key.has_class("-command-palette")]
    palette = [key for key in footer.query(FooterKey) if key.has_class("-command-palette")]
    right_edge = palette[0].region.x if palette else footer.region.right
    problems += [f"{name}: footer cuts {key.description!r}" for key in keys if key.region.right > right_edge]
    if not any(key.description == "Keys" for key in keys):
        problems.append(f"{name}: the footer does not offer F1 Keys")
    # The main menu's Esc (log out, after a confirmation) is shown by the sign-out work on that screen.
    if not any(key.key == "escape" for key in keys) and name not in ESC_SHOWN_ELSEWHERE:
        problems.append(f"{name}: the footer does not say what Esc does")

    bindings = our_bindings(screen)
    shadowing = priority_keys(app)
    for node, binding in bindings:
        if not binding.id:
            problems.append(f"{name}: {type(node).__name__} binds {binding.key} without an id")
        shadow = shadowing.get(binding.key)
        if shadow is not None and shadow.action != binding.action and node is not app:
            problems.append(f"{name}: {binding.key} ({binding.description}) is taken by the app's {shadow.action}")

    await pilot.press("f1")
    await settle(app, pilot)
    if not isinstance(app.screen, KeysScreen):
        return problems + [f"{name}: F1 does not list the keys"]
    listed = str(app.screen.query_one("#keys-text", Static).render())
    rows = {line.split()[-1]: line for line in listed.splitlines()[1:] if line.strip()}
    for _node, binding in bindings:
        row = rows.get(binding.id or "")
        if row is None or not row.startswith(app.get_key_display(binding)) and \
                f" {app.get_key_display(binding)} " not in f" {row} ":
            problems.append(f"{name}: F1 does not list {binding.key} ({binding.description}, {binding.id})")
    await pilot.press("escape")
    await settle(app, pilot)
    if app.screen is not screen:
        problems.append(f"{name}: Esc from F1 did not return to the screen")
    return problems


async def test_every_screen_s_keys_are_in_the_footer_or_f1_and_none_is_shadowed(ctx, admin):
    build_world(ctx)
    app = StronApp(ctx, actor=admin)
    problems = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, MainMenuScreen)
        problems += await problems_of(app, pilot)
        for module in MODULES:
            app._back_to_menu()
            app.push_screen(ModuleScreen(module.key))
            await settle(app, pilot)
            problems += await problems_of(app, pilot)
        for entry in ENTRIES:
            app._back_to_menu()
            app.open_entry(entry.key)
            await settle(app, pilot)
            assert app.screen.TITLE_TEXT or not isinstance(app.screen, MainMenuScreen), entry.key
            problems += await problems_of(app, pilot)
        app.lock_session()
        await settle(app, pilot)
        assert isinstance(app.screen, LockScreen)
        problems += await problems_of(app, pilot)
    assert problems == [], "\n".join(problems)


async def test_the_login_screen_s_keys_are_findable(ctx, admin):
    app = StronApp(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen)
        assert await problems_of(app, pilot) == []


async def test_a_keymap_in_the_settings_moves_keys_by_id(ctx, admin):
    keymap = {"module.basedata": "f7", "library.new": "a", "no.such.key": "f12"}
    ctx = replace(ctx, settings=ctx.settings.with_overrides(keymap=keymap))
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "no.such.key" in " ".join(str(n.message) for n in app._notifications)
        menu = app.screen.query_one("#modules")
        assert "F7  Base Data" in str(menu.get_option("basedata").prompt)
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, MainMenuScreen)  # F3 no longer opens Base Data
        await pilot.press("f7", "4")
        await settle(app, pilot)
        assert app.screen.TITLE_TEXT == "District Library"
        library = app.screen
        await pilot.press("n")
        await settle(app, pilot)
        assert app.screen is library
        await pilot.press("a")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "RecordFormScreen"
        await pilot.press("escape", "f1")
        await settle(app, pilot)
        listed = str(app.screen.query_one("#keys-text", Static).render())
        assert any(line.startswith("a ") and line.rstrip().endswith("library.new") for line in listed.splitlines())


async def test_the_top_up_keys_after_a_sale_are_findable(ctx, admin):
    from tests.factories import add_meter
    from tests.screens.test_layout import sell_by_keys

    world = build_world(ctx)
    meter = add_meter(world, "4300000003")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await sell_by_keys(app, pilot, meter, "10")
        assert app.screen.receipt is not None
        assert await problems_of(app, pilot) == []
