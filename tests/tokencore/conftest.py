"""Make the repository root importable so `tokencore` is found however pytest is started."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def vectors():
    return json.loads((HERE / "vectors.json").read_text())


@pytest.fixture(scope="session")
def extra_vectors():
    return json.loads((HERE / "vectors_extra.json").read_text())
