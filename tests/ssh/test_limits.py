"""Limits at the SSH door: password attempts, connections not logged in yet, sessions per user and address.

Each test makes the server refuse something over loopback, checks what was refused, and then logs a
legitimate station in to show the server is still there for it. Other 127.x.y.z addresses stand for
other stations.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource

import asyncssh
import pytest
from asyncssh.constants import MSG_USERAUTH_REQUEST
from asyncssh.packet import Boolean, String
from sqlalchemy import func, select

from stron_tui.db.models import LoginThrottle, User
from stron_tui.services import users
from stron_tui.domain.text import fold
from stron_tui.ssh.limits import raise_file_limit, source_key
from tests.ssh.conftest import Terminal


async def _station_works(station, source: str = "127.0.0.9", username="Admin", password="AdminPass1") -> None:
    async with await station.connect(username, password, source=source) as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu|temporary")
        await terminal.press("f10")


def _failed_logins(ctx, user_code: str) -> int:
    """Password checks that failed for this user ID: on the account (in-session) or per address (remote)."""
    with ctx.db.read_session() as session:
        on_account = session.scalar(select(User.failed_logins).where(User.user_code == user_code)) or 0
        per_address = session.scalar(select(func.coalesce(func.sum(LoginThrottle.failures), 0))
                                     .where(LoginThrottle.user_key == fold(user_code))) or 0
        return on_account + per_address


# Password attempts ------------------------------------------------------------------------

class PipeliningClient(asyncssh.SSHClient):
    """Sends password requests 10 ms apart without waiting for answers, as a fast guesser does.

    asyncssh's server cancels the check of a request when the next one arrives; each must still count.
    """

    def __init__(self, username: str, guesses: list[str]):
        self.username = username
        self.guesses = guesses
        self.asked = False

    def connection_made(self, conn) -> None:
        self.conn = conn

    async def password_auth_requested(self):
        if self.asked:
            return None
        self.asked = True
        for guess in self.guesses:
            self.conn.send_packet(MSG_USERAUTH_REQUEST, String(self.username), String("ssh-connection"),
                                  String("password"), Boolean(False), String(guess))
            await asyncio.sleep(0.01)
        return "last guess"


async def test_pipelined_password_requests_are_all_counted_and_block_their_address(station, ctx):
    station.hub.limiter.limit = 5
    guesses = [f"guess{number}" for number in range(8)]
    with pytest.raises((asyncssh.PermissionDenied, asyncssh.DisconnectError, ConnectionError)):
        await asyncio.wait_for(asyncssh.connect(
            "127.0.0.1", station.port, username="nobody", known_hosts=None, agent_path=None,
            preferred_auth="password", local_addr=("127.0.0.1", 0),
            client_factory=lambda: PipeliningClient("nobody", guesses)), 20)
    # Every request counted before its check could be cancelled: the address is blocked now, so even the
    # right password from it is refused, and a new connection from it is closed before the handshake.
    assert station.hub.limiter.blocked("127.0.0.1")
    with pytest.raises((asyncssh.PermissionDenied, asyncssh.DisconnectError, ConnectionError, OSError)):
        await station.connect(password="AdminPass1")
    assert _failed_logins(ctx, "Admin") == 0  # nobody's account was touched
    await _station_works(station, source="127.0.0.2")


async def test_failures_for_one_user_from_one_address_back_off_before_any_password_is_checked(station, ctx):
    station.hub.limiter.backoff_base = 30.0
    with pytest.raises(asyncssh.PermissionDenied):
        await station.connect(password="wrong 1")
    for guess in ("wrong 2", "wrong 3", "AdminPass1"):  # inside the back-off: refused unchecked
        with pytest.raises(asyncssh.PermissionDenied):
            await station.connect(password=guess)
    assert _failed_logins(ctx, "Admin") == 1  # only the first reached the password check
    await _station_works(station, source="127.0.0.2")  # the same user from another station is not held up
    await _station_works(station, username="Admin", source="127.0.0.3")


async def test_a_connection_offering_too_many_keys_is_closed(station, ctx, admin, monkeypatch):
    from stron_tui.services import public_keys

    station.hub.options.max_auth_tries = 4
    strangers = [asyncssh.generate_private_key("ssh-ed25519") for _ in range(8)]
    looked_up = []
    real_look_up = public_keys.key_may_log_in

    def counted_look_up(ctx, user_code, fingerprint):  # the real look-up, counted
        looked_up.append(fingerprint)
        return real_look_up(ctx, user_code, fingerprint)

    monkeypatch.setattr(public_keys, "key_may_log_in", counted_look_up)
    with pytest.raises((asyncssh.PermissionDenied, asyncssh.DisconnectError, ConnectionError)):
        await station.connect(password=None, client_keys=strangers)
    assert len(looked_up) == 4  # the other keys were never looked up: the connection was closed
    await _station_works(station)


def test_a_source_is_an_ipv4_address_or_an_ipv6_64():
    assert source_key("192.0.2.7") == "192.0.2.7"
    assert source_key("2001:db8:1:2:aaaa::1") == source_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert source_key("::ffff:192.0.2.7") == "192.0.2.7"


# Connections not logged in yet ------------------------------------------------------------

async def _idle_connection(station, source: str):
    """A TCP connection that never logs in; returns (reader, writer, the server's first line or b'')."""
    reader, writer = await asyncio.open_connection("127.0.0.1", station.port, local_addr=(source, 0))
    try:
        banner = await asyncio.wait_for(reader.readline(), 5)
    except (ConnectionError, asyncio.TimeoutError):
        banner = b""
    return reader, writer, banner


async def _closed(writer) -> None:
    try:
        await writer.wait_closed()
    except ConnectionError:
        pass


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_connections_not_logged_in_are_capped_per_source_and_in_total(station, caplog):
    station.hub.startups.per_source = 3
    station.hub.startups.total = 5
    before = _open_descriptors()
    caplog.set_level(logging.WARNING, logger="stron_tui.ssh")
    held = []
    results = {}
    for source, count in (("127.0.0.1", 6), ("127.0.0.2", 4), ("127.0.0.3", 3)):
        answered = 0
        for _ in range(count):
            reader, writer, banner = await _idle_connection(station, source)
            if banner.startswith(b"SSH-2.0-stron-tui"):
                answered += 1
                held.append(writer)
            else:
                writer.close()
                await _closed(writer)
        results[source] = answered
    # Three from the first address, two more from the second fill the total; the third gets none.
    assert results == {"127.0.0.1": 3, "127.0.0.2": 2, "127.0.0.3": 0}
    assert station.hub.startups.count == 5
    # The refused ones hold no descriptor on the server: only the five held (both ends in this process).
    assert _open_descriptors() - before == 2 * len(held)
    refusals = [record for record in caplog.records if "refused connections" in record.getMessage()]
    assert len(refusals) == 2  # once per kind (per source, in total), not once per connection
    for writer in held:
        writer.close()
    for _ in range(100):
        if station.hub.startups.count == 0:
            break
        await asyncio.sleep(0.05)
    assert station.hub.startups.count == 0
    await _station_works(station, source="127.0.0.3")


async def test_a_connection_that_does_not_log_in_within_the_grace_is_closed(ctx, admin):
    from stron_tui.ssh.server import ServerOptions, bound_port, close_server, start_server
    from tests.ssh.conftest import Station

    acceptor, hub = await start_server(ctx, "127.0.0.1", 0, ServerOptions(login_grace=1.0, keepalive_interval=0))
    station = Station(bound_port(acceptor), hub)
    try:
        reader, writer, banner = await _idle_connection(station, "127.0.0.1")
        assert banner.startswith(b"SSH-2.0-stron-tui")
        rest = await asyncio.wait_for(reader.read(), 15)  # the server closes it: EOF, not a timeout
        assert hub.startups.count == 0 and rest is not None
        writer.close()
        await _station_works(station)
    finally:
        await close_server(acceptor, hub)


async def test_an_accept_failing_for_want_of_descriptors_is_logged_once_per_interval(station, caplog):
    caplog.set_level(logging.WARNING, logger="stron_tui.ssh")
    loop = asyncio.get_running_loop()
    for _ in range(50):
        loop.call_exception_handler({"message": "socket.accept() out of system resource",
                                     "exception": OSError(24, "Too many open files")})
    lines = [record for record in caplog.records if "cannot accept connections" in record.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None  # one line, no traceback


def test_the_soft_open_files_limit_is_raised_to_the_hard_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowered = min(soft, 256)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
    try:
        assert raise_file_limit() == (hard, hard) or hard == resource.RLIM_INFINITY
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] in (hard, lowered if hard == resource.RLIM_INFINITY
                                                                 else hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# Sessions after login -----------------------------------------------------------------------

async def test_one_user_cannot_take_every_session(station, ctx, admin):
    station.hub.caps.per_user = 2
    async with await station.connect() as conn:
        first = await Terminal.open(conn)
        second = await Terminal.open(conn)
        await first.wait_for(r"Main menu")
        await second.wait_for(r"Main menu")
        refused = await conn.create_process(term_type="xterm-256color", term_size=(80, 24), encoding=None)
        await asyncio.wait_for(refused.wait_closed(), 15)
        assert refused.exit_status == 1
        assert b"this user already has 2 sessions open" in await refused.stderr.read()
        with pytest.raises((asyncssh.SFTPError, asyncssh.ChannelOpenError)):  # SFTP counts too
            async with conn.start_sftp_client():
                pass
        # Another user is not held up by it ...
        users.create_user(ctx, admin, user_code="cashier1", role="OnlyVending")
        await _station_works(station, username="cashier1", password="123456", source="127.0.0.2")
        # ... and once one of the user's sessions ends, the user gets a session again.
        first.process.close()
        await asyncio.wait_for(first.closed.wait(), 15)
        for _ in range(100):
            if station.hub.caps.count == 1:
                break
            await asyncio.sleep(0.05)
        third = await Terminal.open(conn)
        await third.wait_for(r"Main menu")


async def test_one_address_cannot_take_every_session(station, ctx, admin):
    station.hub.caps.per_source = 1
    users.create_user(ctx, admin, user_code="cashier1", role="OnlyVending")
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
        async with await station.connect("cashier1", "123456") as other:
            refused = await other.create_process(term_type="xterm-256color", term_size=(80, 24), encoding=None)
            await asyncio.wait_for(refused.wait_closed(), 15)
            assert refused.exit_status == 1
            assert b"this address already has 1 sessions open" in await refused.stderr.read()
        await _station_works(station, username="cashier1", password="123456", source="127.0.0.2")


async def test_the_total_session_cap_still_holds(station):
    station.hub.caps.total = 1
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
        async with await station.connect(source="127.0.0.2") as other:
            refused = await other.create_process(term_type="xterm-256color", term_size=(80, 24), encoding=None)
            await asyncio.wait_for(refused.wait_closed(), 15)
            assert b"the server already has 1 sessions open" in await refused.stderr.read()


# Settings ------------------------------------------------------------------------------------

def test_the_limits_are_settings_with_defaults_and_clear_errors(tmp_path):
    from stron_tui.errors import ConfigurationError
    from stron_tui.settings import load_settings
    from stron_tui.ssh.server import ServerOptions

    defaults = ServerOptions.from_settings(load_settings({"STRON_DATA_DIR": str(tmp_path)}))
    assert (defaults.max_sessions, defaults.sessions_per_user, defaults.sessions_per_address,
            defaults.max_startups, defaults.startups_per_address, defaults.login_grace) == (50, 3, 20, 100, 10, 30.0)
    chosen = ServerOptions.from_settings(load_settings({
        "STRON_DATA_DIR": str(tmp_path), "STRON_SSH_SESSIONS_PER_USER": "1", "STRON_SSH_MAX_STARTUPS": "40",
        "STRON_SSH_SESSIONS_PER_ADDRESS": "5", "STRON_SSH_LOGIN_GRACE_SECONDS": "20"}), max_sessions=7)
    assert (chosen.sessions_per_user, chosen.max_startups, chosen.sessions_per_address, chosen.login_grace,
            chosen.max_sessions) == (1, 40, 5, 20.0, 7)
    with pytest.raises(ConfigurationError, match="ssh_sessions_per_user must be at least 1"):
        load_settings({"STRON_DATA_DIR": str(tmp_path), "STRON_SSH_SESSIONS_PER_USER": "0"})
