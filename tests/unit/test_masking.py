"""`mask_secrets`: a secret in text that is not JSON (a body, a log line), by the
name it stands under (whatever the token is) or because the server knows it."""

from __future__ import annotations

import pytest

from mockserver.control.journal.masking import mask_secrets

#: A token the server does not know: masked only by the name it stands under.
UNKNOWN = "Zq9xLm2Pw8Rt5Vy3Kb7Nc4Hd"
KNOWN = "north-token-0000000000001"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"Authorization: Basic {UNKNOWN}", "Authorization: Basic Zq9x…"),
        (f"authorization: Bearer {UNKNOWN}", "authorization: Bearer Zq9x…"),
        (f"X-Admin-Token: {UNKNOWN}", "X-Admin-Token: Zq9x…"),
        (f"auth:\n  token: {UNKNOWN}", "auth:\n  token: Zq9x…"),
        (f"{{'api_key': '{UNKNOWN}'}}", "{'api_key': 'Zq9x…'}"),
        (f'PASSWORD = "{UNKNOWN}"', 'PASSWORD = "Zq9x…"'),
        (f"GET /x?token={UNKNOWN} HTTP/1.1", "GET /x?token=Zq9x… HTTP/1.1"),
        ("token: missing (send it in the body)", "token: missing (send it in the body)"),
    ],
)
def test_a_secret_is_masked_by_the_name_it_stands_under(text, shown):
    assert mask_secrets(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        f"{KNOWN}.",
        f"key_{KNOWN}",
        f"https://x.io/api/{KNOWN}/status",
        f"Bearer%20{KNOWN}",
        f"<auth>{KNOWN}</auth>",
    ],
)
def test_a_known_token_is_masked_wherever_it_stands(text):
    masked = mask_secrets(text, {KNOWN}.__contains__)
    assert KNOWN[:5] not in masked, masked
