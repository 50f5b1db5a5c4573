"""Low-bandwidth details that need no SSH: ASCII borders on request, printing where no terminal prints."""

from __future__ import annotations

from stron_tui.app import StronApp, ascii_wanted


def test_ascii_borders_when_asked_or_when_the_locale_is_not_utf8():
    assert ascii_wanted(True, {"LANG": "en_GB.UTF-8"})
    assert ascii_wanted(False, {"LANG": "C"})
    assert ascii_wanted(False, {"LANG": "en_US.UTF-8", "LC_ALL": "POSIX"})
    assert not ascii_wanted(False, {"LANG": "en_GB.UTF-8"})
    assert not ascii_wanted(False, {})


async def test_the_login_box_has_ascii_borders_for_a_station_that_asks(ctx, admin):
    from stron_tui.settings import load_settings

    station = {"STRON_DATA_DIR": str(ctx.settings.data_dir)}
    ctx.settings = ctx.settings.with_overrides(ascii=load_settings({**station, "STRON_ASCII": "1"}).ascii)
    app = StronApp(ctx, low_bandwidth=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#login-box").styles.border_top[0] == "ascii"
    ctx.settings = ctx.settings.with_overrides(ascii=load_settings({**station, "STRON_ASCII": "0"}).ascii)
    app = StronApp(ctx, low_bandwidth=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#login-box").styles.border_top[0] == "round"


async def test_printing_without_a_printing_station_saves_the_receipt_and_says_so(ctx, admin):
    from tests.exports.receipt_samples import sample_receipt

    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.print_receipt(sample_receipt())  # Admin has no station, so no printer
        await app.workers.wait_for_complete()
        await pilot.pause()
        messages = [notice.message for notice in app._notifications]
    saved = sorted((ctx.settings.export_dir / f"u{admin.user_id}").glob("receipt-S1-0000042-*"))
    assert sorted(path.suffix for path in saved) == [".pdf", ".txt", ".txt"]
    text = next(path for path in saved if "-40col-" in path.name).read_text()
    assert "1234 5678 9012 3456 7890" in text
    assert len(messages) == 1 and "not set up to print" in messages[0]
    assert all(path.name in messages[0] for path in saved) and str(saved[0].parent) in messages[0]
