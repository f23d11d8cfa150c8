"""How a rebuild that fills by bureau shares the bureaus between its processes (``shared.rebuild._shares``)."""

from __future__ import annotations

from shared.rebuild import _shares


def test_the_bureaus_are_shared_by_their_events_largest_first_each_to_the_share_with_fewest():
    shares = _shares([("a", 10), ("b", 6), ("c", 5), ("d", 4)], 2)
    assert sorted(map(sorted, shares)) == [["a", "d"], ["b", "c"]]  # 14 and 11 events


def test_every_bureau_is_in_one_share_events_of_no_bureau_included():
    bureaus = [(None, 2), ("a", 7), ("b", 1), ("c", 3), ("d", 3)]
    for parts in (1, 2, 3, 8):
        shares = _shares(bureaus, parts)
        assert len(shares) == min(parts, len(bureaus))
        assert sorted([tenant for share in shares for tenant in share], key=str) == sorted(
            [tenant for tenant, _count in bureaus], key=str)


def test_a_store_of_one_bureau_or_none_makes_one_share_or_none():
    assert _shares([("a", 5)], 4) == [["a"]]
    assert _shares([], 2) == []
