"""The in-memory matching indexes stay in step with profile changes."""

from __future__ import annotations

from mockserver.domain.values import phone_key
from mockserver.store.indexes import DatabaseIndex


def profile(pid, email=None, phones=(), subscriptions=(), **fields):
    data = {"email": email, "phones": list(phones), **fields}
    return {"id": pid, "data": data, "subscriptions": list(subscriptions)}


def test_email_lookup_is_case_insensitive_and_split_by_source():
    index = DatabaseIndex()
    index.add(profile("p1", email="A@x.io"))
    index.add(profile("p2", subscriptions=[{"channel": "email", "email": "a@X.io"}]))

    assert set(index.by_email("a@x.io", profile=True, subscriptions=True)) == {"p1", "p2"}
    assert index.by_email("a@x.io", profile=True, subscriptions=False) == ("p1",)
    assert index.by_email("a@x.io", profile=False, subscriptions=True) == ("p2",)


def test_phone_lookup_by_digits_including_sms_subscriptions():
    index = DatabaseIndex()
    index.add(profile("p1", phones=["+79000000001"]))
    index.add(profile("p2", subscriptions=[{"channel": "sms", "phone": "+79000000002"}]))

    assert index.by_phone(phone_key("+79000000001"), profile=True, subscriptions=True) == ("p1",)
    assert index.by_phone(phone_key("+79000000002"), profile=True, subscriptions=True) == ("p2",)
    assert index.by_phone(phone_key("+79000000002"), profile=True, subscriptions=False) == ()


def test_replace_moves_index_entries():
    index = DatabaseIndex()
    old = profile("p1", email="old@x.io")
    index.add(old)
    new = profile("p1", email="new@x.io")

    index.replace(old, new)

    assert index.by_email("old@x.io", profile=True, subscriptions=True) == ()
    assert index.by_email("new@x.io", profile=True, subscriptions=True) == ("p1",)


def test_field_index_is_built_on_first_use_then_kept_in_step():
    profiles = {"p1": profile("p1", CRM_ID="1"), "p2": profile("p2", CRM_ID="2")}
    index = DatabaseIndex()
    for p in profiles.values():
        index.add(p)

    assert index.by_field("CRM_ID", "2", profiles.get) == ("p2",)
    changed = profile("p2", CRM_ID="3")
    index.replace(profiles["p2"], changed)
    profiles["p2"] = changed
    assert index.by_field("CRM_ID", "2", profiles.get) == ()
    assert index.by_field("CRM_ID", "3", profiles.get) == ("p2",)


def test_tags_match_only_profiles_holding_every_tag():
    profiles = {
        "both": profile("both", Tags=["tag-1", "tag-2"]),
        "one": profile("one", Tags=["tag-1"]),
    }
    index = DatabaseIndex()
    for p in profiles.values():
        index.add(p)

    assert index.by_field("Tags", ["tag-1", "tag-2"], profiles.get) == ("both",)
    assert set(index.by_field("Tags", ["tag-1"], profiles.get)) == {"both", "one"}


def test_numbers_and_booleans_are_kept_apart():
    profiles = {"t": profile("t", Flag=True), "one": profile("one", Flag=1)}
    index = DatabaseIndex()
    for p in profiles.values():
        index.add(p)

    assert index.by_field("Flag", True, profiles.get) == ("t",)
    assert index.by_field("Flag", 1, profiles.get) == ("one",)
