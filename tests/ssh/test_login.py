"""Logging in over SSH: password, key, lockout, and what the server refuses."""

from __future__ import annotations

import asyncio

import asyncssh
import pytest

from tests.ssh.conftest import Terminal


async def test_password_login_opens_the_main_menu_already_logged_in(station):
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
        await terminal.wait_for(r"Operator: Admin")
        assert "\x1b[?1000h" not in terminal.raw.decode("utf-8", "replace")  # no mouse tracking
        await terminal.press("f10")
        await terminal.wait_for(r"Logged out", since=0)
