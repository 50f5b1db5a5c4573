from __future__ import annotations

import pytest

from widgets.words import code_words


@pytest.mark.parametrize(("code", "words"), [
    ("clear_credit", "Clear credit"), ("admin_password_set", "Admin password set"), ("report.export", "Report export"),
    ("set-power-limit", "Set power limit"), ("vend", "Vend"), ("", ""), (None, ""), ("Already words", "Already words"),
])
def test_codes_read_as_words(code, words):
    assert code_words(code) == words
