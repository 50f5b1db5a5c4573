"""An embedded SSH server on loopback for each test, and a client terminal that reads the screen.

The terminal is an emulator (pyte), as at a real station: in low-bandwidth mode the server sends only
the cells that change, so what is on screen is not always in one piece in the stream.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from dataclasses import dataclass

import asyncssh
import pyte
import pytest

from stron_tui.ssh.server import ServerOptions, StationHub, bound_port, close_server, start_server

KEYS = {"enter": b"\r", "escape": b"\x1b", "tab": b"\t", "f2": b"\x1bOQ", "f10": b"\x1b[21~",
        "down": b"\x1b[B", "up": b"\x1b[A"}


@dataclass
class Station:
    port: int
    hub: StationHub
    acceptor: asyncssh.SSHAcceptor | None = None

    async def connect(self, username: str = "Admin", password: str | None = "AdminPass1", *,
                      client_keys=(), compression: bool = True, source: str = "127.0.0.1",
                      **options) -> asyncssh.SSHClientConnection:
        """Log in from `source`: any 127.x.y.z address is this machine, seen by the server as another station."""
        return await asyncssh.connect(
            "127.0.0.1", self.port, username=username, password=password, client_keys=client_keys,
            known_hosts=None, agent_path=None, preferred_auth="publickey,password" if client_keys else "password",
            compression_algs=["zlib@openssh.com"] if compression else ["none"], local_addr=(source, 0),
            **options,
        )


class Terminal:
    """An interactive session as a station sees it: keys in, screen bytes out, and the screen they make."""

    def __init__(self, process: asyncssh.SSHClientProcess, size=(80, 24)):
        self.process = process
        self.raw = bytearray()
        self.screen = pyte.Screen(*size)
        self._emulator = pyte.ByteStream(self.screen)
        self.closed = asyncio.Event()
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, conn: asyncssh.SSHClientConnection, size=(80, 24), env=None) -> "Terminal":
        process = await conn.create_process(term_type="xterm-256color", term_size=size, encoding=None, env=env)
        return cls(process, size)

    async def _read(self) -> None:
        try:
            while True:
                data = await self.process.stdout.read(65536)
                if not data:
                    break
                self.raw += data
                self._emulator.feed(data)
        except (asyncssh.Error, ConnectionError):
            pass
        finally:
            self.closed.set()

    @property
    def text(self) -> str:
        """What the screen shows now, line by line."""
        return "\n".join(line.rstrip() for line in self.screen.display)

    def mark(self) -> int:
        return len(self.raw)

    async def wait_for(self, pattern: str, *, since: int = 0, timeout: float = 15.0) -> str:
        """Until something has arrived since `since` and the screen shows `pattern`; returns the screen."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            text = self.text
            if len(self.raw) > since and re.search(pattern, text):
                return text
            if self.closed.is_set() or asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{pattern!r} never appeared on screen; the screen:\n{text}")
            await asyncio.sleep(0.05)

    async def wait_for_bytes(self, data: bytes, *, since: int = 0, timeout: float = 15.0) -> None:
        for _ in range(int(timeout / 0.05)):
            if data in self.raw[since:]:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{data!r} never arrived")

    async def press(self, *keys: str, delay: float = 0.02) -> None:
        for key in keys:
            self.process.stdin.write(KEYS.get(key, key.encode()))
            await asyncio.sleep(delay)

    async def type(self, text: str) -> None:
        self.process.stdin.write(text.encode())
        await asyncio.sleep(0.05)


@pytest.fixture
async def station(ctx, admin, request):
    # resume_grace=0: a dropped link ends the session (tests/ssh/test_resume.py keeps them).
    options = ServerOptions(hangup_grace=1.0, keepalive_interval=0, failures_per_address=50, backoff_base=0.0,
                            resume_grace=getattr(request, "param", 0))
    acceptor, hub = await start_server(ctx, "127.0.0.1", 0, options)
    yield Station(bound_port(acceptor), hub, acceptor)
    await close_server(acceptor, hub)
