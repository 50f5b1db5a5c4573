"""Top-up type-ahead: each kind of match comes from its own index-served query, merged by meter number.

(One query OR-ing the matches over meters, customers and accounts scanned every open account: about
0.3 s at 200,000 meters and seconds at a million, on each keystroke of each cashier; bench/soak.py.)
"""

from __future__ import annotations

from stron_tui.services import vending
from tests.factories import add_meter, build_world


def test_type_ahead_merges_meter_and_name_matches_by_meter_number_up_to_the_limit(ctx, admin):
    world = build_world(ctx)
    meters = [add_meter(world, f"41000001{n:02d}") for n in range(12)]

    by_number = vending.find_accounts(ctx, admin, "410000010")
    assert [m.meter_number for m in by_number] == meters[:8]  # ten match; the first eight by meter number

    by_name = vending.find_accounts(ctx, admin, "customer 410000011")
    assert [(m.meter_number, m.customer_name) for m in by_name] == [
        (meters[10], "Customer 4100000110"), (meters[11], "Customer 4100000111")]

    assert [m.meter_number for m in vending.find_accounts(ctx, admin, meters[5], limit=3)] == [meters[5]]
    assert vending.find_accounts(ctx, admin, "customer 4199") == []


def _rename(ctx, serial, name):
    from sqlalchemy import select

    from stron_tui.db.models import Customer
    from stron_tui.domain.text import fold

    with ctx.db.session() as session:
        customer = session.scalar(select(Customer).where(Customer.code == f"C{serial}"))
        customer.name, customer.name_key = name, fold(name)


def test_type_ahead_finds_any_word_accounts_and_ids_whatever_the_case_and_accents(ctx, admin):
    world = build_world(ctx)
    zoe, juma, ada, other = (add_meter(world, f"41000002{n:02d}") for n in range(4))
    _rename(ctx, "4100000200", "Zoë Kamau")
    _rename(ctx, "4100000201", "Juma KAMAU")
    _rename(ctx, "4100000202", "Adaeze Ọkọnkwọ")
    _rename(ctx, "4100000203", "Akamaus Otieno")  # "kamau" inside a word is not a word of the name

    def found(text):
        return sorted(m.meter_number for m in vending.find_accounts(ctx, admin, text))

    assert found("kamau") == sorted([zoe, juma])
    assert found("Kamau zoe") == [zoe]
    assert found("okonkwo") == found("ỌKỌNKWỌ") == found("adaeze okon") == [ada]
    assert found(world.accounts[juma].lower()) == found(world.accounts[juma]) == [juma]
    assert found("c4100000202") == [ada]
    assert found("otieno") == [other]
    assert found("%amau") == found("k_mau") == []


def test_a_cut_list_says_how_many_match_in_all(ctx, admin):
    world = build_world(ctx)
    meters = [add_meter(world, f"41000003{n:02d}") for n in range(12)]

    ten = vending.search_accounts(ctx, admin, "410000030", limit=8, count_up_to=100)
    assert [m.meter_number for m in ten.matches] == meters[:8]
    assert (ten.total, ten.more) == (10, False)  # "8 of 10 accounts match"

    counted_to_five = vending.search_accounts(ctx, admin, "410000030", limit=3, count_up_to=5)
    assert (len(counted_to_five.matches), counted_to_five.total, counted_to_five.more) == (3, 5, True)

    by_name = vending.search_accounts(ctx, admin, "customer 41000003", limit=8, count_up_to=100)
    assert (len(by_name.matches), by_name.total, by_name.more) == (8, 12, False)

    one = vending.search_accounts(ctx, admin, meters[4], count_up_to=100)
    assert ([m.meter_number for m in one.matches], one.total, one.more) == ([meters[4]], 1, False)
