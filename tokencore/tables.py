"""The fixed tables of the standard (STA and MISTY1), loaded once from tables.json."""

from __future__ import annotations

import json
from importlib import resources

_DATA = json.loads(resources.files(__package__).joinpath("tables.json").read_text("ascii"))

STA_S1: tuple[int, ...] = tuple(_DATA["sta"]["s1"])
STA_S2: tuple[int, ...] = tuple(_DATA["sta"]["s2"])
STA_P: tuple[int, ...] = tuple(_DATA["sta"]["p"])
MISTY1_S7: tuple[int, ...] = tuple(_DATA["misty1"]["s7"])
MISTY1_S9: tuple[int, ...] = tuple(_DATA["misty1"]["s9"])

assert sorted(STA_S1) == sorted(STA_S2) == list(range(16))
assert sorted(STA_P) == list(range(64))
assert sorted(MISTY1_S7) == list(range(128)) and sorted(MISTY1_S9) == list(range(512))
