"""`custom_request` over a slice (domain.profiles.QueryMatches): one scan of the
database per slice, then each item costs a lookup, whatever the store's size."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mockserver.domain.profiles import Profile, QueryMatches


class Book:
    """The part of a ProfileBook QueryMatches reads: profiles in creation order."""

    def __init__(self, count: int) -> None:
        self.profiles = {
            f"p{n}": {"id": f"p{n}", "db_id": 1, "seq": n, "data": {"group": n % 100}}
            for n in range(count)
        }

    def get(self, profile_id: str) -> Profile | None:
        return self.profiles.get(profile_id)

    def ids_matching(self, db_id: int, predicate: Callable[[Profile], bool]) -> Iterable[str]:
        return [pid for pid, profile in self.profiles.items() if predicate(profile)]

    def write(self, profile_id: str, data: dict[str, Any]) -> None:
        seq = (
            self.profiles[profile_id]["seq"] if profile_id in self.profiles else len(self.profiles)
        )
        self.profiles[profile_id] = {"id": profile_id, "db_id": 1, "seq": seq, "data": data}


def counting(predicate: Callable[[Profile], bool]) -> tuple[Callable[[Profile], bool], list[int]]:
    calls = [0]

    def counted(profile: Profile) -> bool:
        calls[0] += 1
        return predicate(profile)

    return counted, calls


def test_items_of_a_slice_cost_a_lookup_not_a_scan():
    book = Book(5_000)
    predicate, calls = counting(lambda profile: profile["data"].get("group") == 7)
    matches = QueryMatches(book, 1, predicate)
    for _ in range(500):  # every item updates the profile the query selects
        chosen = matches.earliest()
        assert chosen == "p7"
        book.write(chosen, {"group": 7, "seen": True})
        matches.written(chosen)
    assert calls[0] == 5_000 + 500  # one scan, then one check per write


def test_the_earliest_selected_profile_follows_the_slices_writes():
    book = Book(300)
    matches = QueryMatches(book, 1, lambda profile: profile["data"].get("group") == 7)
    assert matches.earliest() == "p7"
    book.write("p7", {"group": 8})  # no longer selected
    matches.written("p7")
    assert matches.earliest() == "p107"
    book.write("new", {"group": 7})  # created last: selected, but not the earliest
    matches.written("new")
    assert matches.earliest() == "p107"
    for profile_id in ("p107", "p207"):
        book.write(profile_id, {})
        matches.written(profile_id)
    assert matches.earliest() == "new"
    book.write("new", {})
    matches.written("new")
    assert matches.earliest() is None
