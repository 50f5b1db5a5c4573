"""Low-bandwidth details that need no SSH: ASCII borders on request, printing where no terminal prints."""

from __future__ import annotations

from stron_tui.app import StronApp, ascii_wanted


def test_ascii_borders_when_asked_or_when_the_locale_is_not_utf8():
    assert ascii_wanted({"STRON_ASCII": "1"})
    assert ascii_wanted({"LANG": "C"})
    assert ascii_wanted({"LANG": "en_US.UTF-8", "LC_ALL": "POSIX"})
    assert not ascii_wanted({"LANG": "en_GB.UTF-8"})
    assert not ascii_wanted({})


async def test_the_login_box_has_ascii_borders_for_a_station_that_asks(ctx, admin, monkeypatch):
    monkeypatch.setenv("STRON_ASCII", "1")
    app = StronApp(ctx, low_bandwidth=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#login-box").styles.border_top[0] == "ascii"
    monkeypatch.setenv("STRON_ASCII", "0")
    app = StronApp(ctx, low_bandwidth=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#login-box").styles.border_top[0] == "round"


async def test_printing_without_a_printing_terminal_saves_the_receipt(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.print_receipt("RECEIPT 42\nTOKEN 1234\n")
        await app.workers.wait_for_complete()
        await pilot.pause()
    saved = list((ctx.settings.export_dir / f"u{admin.user_id}").glob("receipt-print-*.txt"))
    assert len(saved) == 1 and saved[0].read_text() == "RECEIPT 42\nTOKEN 1234\n"
