"""The API under uvicorn on a free loopback port, against the test context's database, in a thread."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn

from stron_tui.api.app import create_app
from stron_tui.api.client import StronClient
from stron_tui.services import api_accounts, roles
from stron_tui.services.bootstrap import ADMIN_ROLE, VENDING_ROLE
from tests.factories import add_meter, build_world


class RunningApi:
    def __init__(self, app):
        self.app = app
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._socket = sock

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
        self._socket.close()


@pytest.fixture
def world(ctx):
    return build_world(ctx)


@pytest.fixture
def meter(world):
    return add_meter(world, "4700000001")


@pytest.fixture
def api(ctx):
    with RunningApi(create_app(ctx)) as running:
        yield running


@pytest.fixture
def admin_key(ctx, admin, world):
    """An API account with the Administrator role at the test station."""
    return api_accounts.create_account(ctx, admin, name="Partner Admin", role=ADMIN_ROLE,
                                       station_code=world.station_code).api_key


@pytest.fixture
def vendor_key(ctx, admin, world):
    """An API account that may only sell and reprint (the built-in OnlyVending role)."""
    return api_accounts.create_account(ctx, admin, name="Partner Shop", role=VENDING_ROLE,
                                       station_code=world.station_code).api_key


@pytest.fixture
def reader_key(ctx, admin, world):
    """An API account whose role may view Base Data and reports but not sell."""
    roles.create_role(ctx, admin, name="Reader", permissions={"basedata.view", "reports.view",
                                                              "reports.all_stations"})
    return api_accounts.create_account(ctx, admin, name="Partner Reader", role="Reader").api_key


@pytest.fixture
def client(api, admin_key):
    with StronClient(api.url, admin_key) as partner:
        yield partner
