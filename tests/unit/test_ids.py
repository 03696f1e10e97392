"""Profile ids drawn at once (`IdGenerator.profile_ids`) against one at a time."""

from __future__ import annotations

import pytest

from mockserver.ids import IdGenerator


@pytest.mark.parametrize("seed", [0, 1, 7, 12345])
@pytest.mark.parametrize("count", [0, 1, 2, 5, 500])
def test_ids_drawn_at_once_are_those_drawn_one_by_one(seed, count):
    one_by_one, at_once = IdGenerator(seed), IdGenerator(seed)
    expected = [one_by_one.profile_id() for _ in range(count)]
    assert at_once.profile_ids(count) == expected
    assert at_once.rng.getstate() == one_by_one.rng.getstate()  # the next ids too
    assert all(len(pid) == 24 and int(pid, 16) >= 0 for pid in expected)


@pytest.mark.parametrize("seed", [3, 4])
def test_taken_ids_are_passed_over_as_one_by_one(seed):
    """A seeded run restarted on its own store draws the stored ids again: each is
    passed over, and no more candidates are drawn than one by one."""
    earlier = IdGenerator(seed)
    stored = {earlier.profile_id() for _ in range(4)} | {"0" * 24}
    drawn_later = IdGenerator(seed)
    skipped = [drawn_later.profile_id() for _ in range(2)]  # two more, not stored
    stored -= {skipped[1]}
    one_by_one, at_once = IdGenerator(seed), IdGenerator(seed)
    accepted: set[str] = set()

    def taken(candidate: str) -> bool:
        return candidate in stored or candidate in accepted

    expected = []
    for _ in range(6):
        expected.append(one_by_one.profile_id(taken=taken))
        accepted.add(expected[-1])
    assert at_once.profile_ids(6, taken=stored.__contains__) == expected
    assert at_once.rng.getstate() == one_by_one.rng.getstate()
    assert not stored & set(expected)
