"""Schemathesis against /openapi.json over real HTTP: generated requests for every operation, valid
(10 each) and invalid (5 each), and no answer may be a server error. Bounded to about 40 s a backend."""

from __future__ import annotations

import time

import pytest

from stron_tui.services import api_accounts
from stron_tui.services.bootstrap import ADMIN_ROLE
from tests.factories import add_meter

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

EXAMPLES = {"positive": 10, "negative": 5}
BUDGET_SECONDS = 40


def test_no_generated_request_gets_a_server_error(ctx, admin, world, api):
    add_meter(world, "4600000001")
    key = api_accounts.create_account(ctx, admin, name="Fuzzer", role=ADMIN_ROLE, station_code="S1",
                                      rate_limit_per_minute=100_000).api_key
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    headers = {"Authorization": f"Bearer {key}"}
    failures: list[str] = []
    started = time.monotonic()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in schemathesis.GenerationMode:

            @settings(max_examples=EXAMPLES[mode.value], deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def exercise(case):
                response = case.call(base_url=api.url, headers=headers, timeout=10)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                    f"{response.text[:300]} (query {case.query}, body {case.body!r:.200})")

            exercise()
        if time.monotonic() - started > BUDGET_SECONDS:
            break
    assert operations >= 20
    assert not failures, "\n".join(failures[:10])
