"""What the dashboard needs from the server, in-process (no browser).

The page and its assets come from the package and load without the admin
token, under a Content-Security-Policy that allows only same-origin code;
the data behind them still needs the token. `GET /_mock/requests?before=ID`
pages the journal backwards for the page's "Older" button.
"""

from __future__ import annotations

import re

import pytest

from mockserver.control.ui import ASSETS
from tests.helpers import STATUS

ADMIN = "ui-admin-token"


async def get(api, path, **kwargs):
    async with api.http.get(path, **kwargs) as response:
        return response.status, response.headers, await response.text()


@pytest.mark.parametrize(
    ("path", "content_type", "marker"),
    [
        ("/_mock/ui", "text/html", '<script src="/_mock/ui/app.js" defer></script>'),
        ("/_mock/ui/app.js", "text/javascript", '"use strict";'),
        ("/_mock/ui/style.css", "text/css", ":root {"),
    ],
)
async def test_the_page_and_its_assets_are_served_from_the_package(api, path, content_type, marker):
    status, headers, body = await get(api, path)
    assert status == 200
    assert headers["Content-Type"] == f"{content_type}; charset=utf-8"
    assert marker in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_the_page_loads_nothing_from_elsewhere(api):
    _, _, html = await get(api, "/_mock/ui")
    _, _, script = await get(api, "/_mock/ui/app.js")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    # Markup is read (to compare renders), never written: no string becomes elements.
    assert not re.search(r"\.(inner|outer)HTML\s*(\+?=)(?!=)", script)
    assert "insertAdjacentHTML" not in script and "document.write" not in script
    assert {path for path in ASSETS} == {
        "/_mock/ui",
        "/_mock/ui/app.js",
        "/_mock/ui/style.css",
    }


async def test_with_an_admin_token_the_page_loads_but_its_data_needs_the_token(make_api):
    api = await make_api(admin_token=ADMIN)
    for path in ASSETS:
        status, _, _ = await get(api, path)
        assert status == 200, path
    status, _, _ = await get(api, "/_mock/requests")
    assert status == 401
    status, _, _ = await get(api, "/_mock/requests", headers={"Authorization": f"Bearer {ADMIN}"})
    assert status == 200


async def test_before_pages_the_journal_backwards(api):
    for _ in range(7):
        await api.call(STATUS, {"task_id": "no-such-task"})
    ids = [entry["id"] for entry in (await api.control("GET", "/_mock/requests")).body["requests"]]
    assert len(ids) == 7

    newest = await api.control("GET", "/_mock/requests?limit=3")
    assert [e["id"] for e in newest.body["requests"]] == ids[4:]
    older = await api.control("GET", f"/_mock/requests?limit=3&before={ids[4]}")
    assert [e["id"] for e in older.body["requests"]] == ids[1:4]
    oldest = await api.control("GET", f"/_mock/requests?limit=3&before={ids[1]}")
    assert [e["id"] for e in oldest.body["requests"]] == ids[:1]
    one = await api.control("GET", f"/_mock/requests?since={ids[2] - 1}&before={ids[2] + 1}")
    assert [e["id"] for e in one.body["requests"]] == [ids[2]]


async def test_before_must_be_an_integer(api):
    answer = await api.control("GET", "/_mock/requests?before=yesterday")
    assert answer.status == 400
    assert answer.body["error_debug"] == "before: expected an integer, got 'yesterday'"
