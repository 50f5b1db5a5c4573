from __future__ import annotations

import pytest

from widgets.words import code_words


@pytest.mark.parametrize(("code", "words"), [
    ("clear_credit", "Clear credit"), ("admin_password_set", "Admin password set"), ("report.export", "Report export"),
    ("set-power-limit", "Set power limit"), ("vend", "Vend"), ("", ""), (None, ""), ("Already words", "Already words"),
])
def test_codes_read_as_words(code, words):
    assert code_words(code) == words


def test_a_cut_list_count_reads_as_words():
    from widgets.words import shown_of_total

    assert shown_of_total(8, 23, False, "accounts") == "8 of 23 accounts"
    assert shown_of_total(8, 100, True, "accounts") == "8 of more than 100 accounts"
    assert shown_of_total(3, 3, False, "accounts") == "3 accounts"
    assert shown_of_total(8, 1200, False) == "8 of 1,200"
