"""A cashier's whole flow through SSH by keyboard: sell, print at the station, and a link that drops."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import func, select, update

from stron_tui.db.models import AuditEntry, Meter, MeterVendActivity, SalesStation, User, Vend, VendDailyTotal
from stron_tui.exports.receipts import PRINT_END, PRINT_START
from tests.factories import add_meter, build_world
from tests.ssh.conftest import Terminal


async def _to_payment_password(terminal: Terminal, meter: str, amount: str = "10") -> None:
    await terminal.wait_for(r"Main menu")
    mark = terminal.mark()
    await terminal.press("f2")  # the Top-up Center opens on the sale itself
    await terminal.wait_for(r"Find a meter to begin", since=mark)
    mark = terminal.mark()
    await terminal.type(meter[:6])
    await terminal.wait_for(meter, since=mark)  # the match list shows the meter
    mark = terminal.mark()
    await terminal.press("enter")
    await terminal.wait_for(r"Tariff Home", since=mark)
    mark = terminal.mark()
    await terminal.type(amount)
    await terminal.press("enter")
    await terminal.wait_for(r"PREVIEW", since=mark)
    await terminal.type("AdminPass1")


async def _wait_until_sessions_end(station, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if not station.hub.children and not station.hub.sessions:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the session's app process did not end after the link dropped")


def _seat_admin_at(ctx, world, printing: str) -> None:
    """Admin works at the world's station, which prints as given (Sales Station Library: Printing)."""
    with ctx.db.session() as session:
        session.execute(update(User).where(User.user_code == "Admin").values(station_id=world.station_id))
        session.execute(update(SalesStation).where(SalesStation.id == world.station_id).values(printing=printing))
    # A cashier at a station sells in an open shift (the product's default).
    from stron_tui.services import auth, shifts

    with ctx.db.session() as session:
        seated = auth.actor_for(session, session.scalar(select(User).where(User.user_code == "Admin")), "tui")
    shifts.open_shift(ctx, seated, {})


async def test_a_complete_vend_by_keyboard_through_ssh_prints_at_the_station(station, ctx):
    world = build_world(ctx)
    meter = add_meter(world, "4300000001")
    _seat_admin_at(ctx, world, "terminal")
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await _to_payment_password(terminal, meter)
        mark = terminal.mark()
        await terminal.press("enter")
        screen = await terminal.wait_for(r"TOKEN\s+\d{4} \d{4}", since=mark)
        with ctx.db.read_session() as session:
            vend = session.scalar(select(Vend))
        grouped = " ".join(vend.token[i:i + 4] for i in range(0, 20, 4))
        assert grouped in screen
        keypad = world.meter_simulator(meter)
        assert keypad.enter(vend.token).accepted and keypad.credit[0] == Decimal("50.0")

        mark = terminal.mark()
        await terminal.press("p")
        await terminal.wait_for_bytes(PRINT_END.encode(), since=mark)
        stream = bytes(terminal.raw[mark:]).decode("utf-8", "replace")
        start, end = stream.index(PRINT_START), stream.index(PRINT_END)
        printed = stream[start + len(PRINT_START):end]
        lines = printed.split("\r\n")
        assert start < end and grouped in printed and vend.receipt_number in printed
        assert max(len(line) for line in lines) == 40  # the station prints 40 columns
        assert "\x1b" not in printed  # nothing of the screen got mixed into the printout
    assert not list((ctx.settings.export_dir / "u1").glob("receipt-*"))


async def test_a_station_that_does_not_print_saves_the_receipt_to_fetch_over_sftp(station, ctx):
    world = build_world(ctx)
    meter = add_meter(world, "4300000003")
    _seat_admin_at(ctx, world, "none")
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await _to_payment_password(terminal, meter)
        mark = terminal.mark()
        await terminal.press("enter")
        await terminal.wait_for(r"TOKEN\s+\d{4} \d{4}", since=mark)
        with ctx.db.read_session() as session:
            vend = session.scalar(select(Vend))
        mark = terminal.mark()
        await terminal.press("p")
        await terminal.wait_for(r"not set up to print", since=mark)
        assert PRINT_START.encode() not in bytes(terminal.raw[mark:])  # nothing painted over the app
        saved = sorted((ctx.settings.export_dir / "u1").glob(f"receipt-{vend.receipt_number}-*"))
        assert sorted(path.suffix for path in saved) == [".pdf", ".txt", ".txt"]
        async with conn.start_sftp_client() as sftp:  # where the message says, as the cashier fetches it
            pdf = next(path for path in saved if path.suffix == ".pdf")
            async with sftp.open(f"/{pdf.name}", "rb") as handle:
                assert await handle.read() == pdf.read_bytes()


async def test_a_link_dropped_mid_sale_leaves_a_whole_sale_or_none_and_the_next_login_shows_it(station, ctx):
    world = build_world(ctx)
    meter = add_meter(world, "4300000002")
    conn = await station.connect()
    terminal = await Terminal.open(conn)
    await _to_payment_password(terminal, meter)
    await terminal.press("enter")  # sell ... and the line drops at once
    conn.abort()
    await _wait_until_sessions_end(station)

    with ctx.db.read_session() as session:
        vends = session.scalars(select(Vend)).all()
        daily = session.scalar(select(func.coalesce(func.sum(VendDailyTotal.vend_count), 0)))
        activity = session.scalar(select(func.coalesce(func.sum(MeterVendActivity.vend_count), 0)))
        audited = session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "vend"))
        last_tid = session.scalar(select(Meter.last_tid).where(Meter.meter_number == meter))
    assert len(vends) in (0, 1)
    assert daily == activity == audited == len(vends)
    if vends:
        assert last_tid == vends[0].tid
        assert world.meter_simulator(meter).enter(vends[0].token).accepted

    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
        if vends:  # the sale went through: the cashier sees its receipt at once, to reprint
            await terminal.wait_for(vends[0].receipt_number)


async def test_the_ssh_keys_printing_decides_for_the_terminal_that_logged_in_with_it(station, ctx, admin):
    import asyncssh

    from stron_tui.services import public_keys

    world = build_world(ctx)
    meter = add_meter(world, "4300000004")
    _seat_admin_at(ctx, world, "none")  # the station saves receipts...
    key = asyncssh.generate_private_key("ssh-ed25519")
    added = public_keys.add_key(ctx, admin, "Admin", key.export_public_key().decode(), "counter with printer")
    public_keys.set_key_printing(ctx, admin, added.id, "terminal")  # ...but this terminal has a printer
    async with await station.connect(password=None, client_keys=[key]) as conn:
        terminal = await Terminal.open(conn)
        await _to_payment_password(terminal, meter)
        mark = terminal.mark()
        await terminal.press("enter")
        await terminal.wait_for(r"TOKEN\s+\d{4} \d{4}", since=mark)
        with ctx.db.read_session() as session:
            vend = session.scalar(select(Vend))
        mark = terminal.mark()
        await terminal.press("p")
        await terminal.wait_for_bytes(PRINT_END.encode(), since=mark)
        assert vend.receipt_number in bytes(terminal.raw[mark:]).decode("utf-8", "replace")
    assert not list((ctx.settings.export_dir / "u1").glob("receipt-*"))
    # A password login at the same station keeps the station's setting: saved, and said so.
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
        await terminal.wait_for(vend.receipt_number)
        mark = terminal.mark()
        await terminal.press("tab")  # the menu's last receipts: Enter reprints
        await terminal.press("enter")
        await terminal.wait_for(r"TOKEN", since=mark)
        mark = terminal.mark()
        await terminal.press("p")
        await terminal.wait_for(r"not set up to print", since=mark)
        assert PRINT_START.encode() not in bytes(terminal.raw[mark:])
