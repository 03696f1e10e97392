"""Who may reach the server (issue 17, 20, 23), in-process.

- The `Host` check: only a Host naming the server is answered, on every path, with
  the envelope and HTTP 403 whatever the status policy (DNS rebinding).
- Control calls that change state take JSON or no body at all, and a browser's
  `Origin` must be the server's own (a page of another site cannot add a fault
  or reset the server with a no-cors request).
- Every integer query parameter of the control API is refused with a 400 naming
  it, however it is malformed (a superscript digit, 5,000 digits).
"""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.config import ConfigError, load_settings
from mockserver.control.table import CONTROL_ROUTES
from tests.helpers import STATUS, TOKEN, Answer, ApiClient, check_schema, envelope, person

DENIED = "Access denied"
FAULT = {"action": "drop"}


async def call(api: ApiClient, method: str, path: str, **kwargs: Any) -> Answer:
    async with api.http.request(method, path, **kwargs) as response:
        return Answer(response.status, await response.json(content_type=None), response.headers)


def host_refused(host: str) -> dict[str, Any]:
    return envelope(403, f"Host: {host!r} is not allowed (--allowed-hosts)", DENIED)


async def faults(api: ApiClient) -> list[dict[str, Any]]:
    return (await call(api, "GET", "/_mock/faults")).body["faults"]


# -- the Host -----------------------------------------------------------------------------

SERVED_BY_DEFAULT = [
    "localhost",
    "localhost:8080",
    "LOCALHOST:1",
    "localhost.",
    "app.localhost:3000",
    "127.0.0.1",
    "127.0.0.1:8080",
    "127.1.2.3:9",
    "[::1]",
    "[::1]:8080",
    "[0:0:0:0:0:0:0:1]:80",
    "[::ffff:127.0.0.1]:80",
]
REFUSED_BY_DEFAULT = [
    "evil.example",
    "evil.example:8080",
    "localhost.evil.example",
    "evil.localhost.example:8080",
    "127.0.0.1.nip.io",
    "altcraft-mock:8080",
    "10.1.2.3",
    "0.0.0.0:8080",
    "[::]:8080",
    "::1",
    "[::1",
    "localhost:80:80",
    "localhost:http",
    "local host",
    "-localhost",
]


@pytest.mark.parametrize("host", SERVED_BY_DEFAULT)
async def test_a_host_naming_the_loopback_is_served(make_api, host):
    api = await make_api()
    answer = await call(api, "GET", "/_mock/health", headers={"Host": host})
    assert (answer.status, answer.body["status"]) == (200, "ok")


@pytest.mark.parametrize("http_status", ["always_200", "mirror"])
@pytest.mark.parametrize("host", REFUSED_BY_DEFAULT)
async def test_any_other_host_is_refused_on_every_path_with_403(make_api, host, http_status):
    api = await make_api(http_status=http_status)
    vendor = await call(
        api,
        "POST",
        f"/api/v1.1/{STATUS}",
        json={"token": TOKEN, "task_id": "x"},
        headers={"Host": host},
    )
    control = await call(api, "POST", "/_mock/faults", json=FAULT, headers={"Host": host})
    unknown = await call(api, "GET", "/somewhere/else", headers={"Host": host})
    for answer in (vendor, control, unknown):
        assert (answer.status, answer.body) == (403, host_refused(host))
        assert "Location" not in answer.headers
        check_schema("error.response", answer.body)
    assert await faults(api) == []


async def test_a_refused_host_is_shown_cut_short(make_api):
    api = await make_api()
    host = "a" * 300 + ".example"
    answer = await call(api, "GET", "/_mock/health", headers={"Host": host})
    assert answer.status == 403
    assert answer.body["error_debug"] == (
        f"Host: {host[:100] + '…'!r} is not allowed (--allowed-hosts)"
    )


@pytest.mark.parametrize(
    ("settings", "served", "refused"),
    [
        # Bound to every interface, nothing named: any Host (a container's service name).
        ({"host": "0.0.0.0"}, ["evil.example", "altcraft-mock:8080", "10.1.2.3"], []),
        ({"host": "::"}, ["evil.example:1"], []),
        # Names given: those, and loopback, only.
        (
            {"host": "0.0.0.0", "allowed_hosts": "altcraft-mock, CI.example"},
            ["altcraft-mock", "ALTCRAFT-MOCK:8080", "ci.example:443", "localhost", "127.0.0.1"],
            ["evil.example", "mock.ci.example", "10.1.2.3"],
        ),
        (
            {"allowed_hosts": "altcraft-mock:8080,[2001:db8::7],2001:db8::8,192.0.2.9"},
            ["altcraft-mock:9", "[2001:db8::7]:80", "[2001:db8::8]", "192.0.2.9:8080"],
            ["evil.example", "[2001:db8::9]", "192.0.2.10"],
        ),
        ({"allowed_hosts": "*"}, ["evil.example", "10.1.2.3:1"], []),
        # The bound address, any port.
        ({"host": "192.0.2.10"}, ["192.0.2.10:8080", "localhost"], ["192.0.2.11"]),
        ({"host": "2001:db8::5"}, ["[2001:db8::5]:8080"], ["[2001:db8::6]"]),
        ({"host": "mock.lan"}, ["mock.lan:8080", "MOCK.LAN."], ["evil.example"]),
    ],
    ids=[
        "wildcard",
        "wildcard-v6",
        "named",
        "names-with-ports",
        "any",
        "bound-v4",
        "bound-v6",
        "bound-name",
    ],
)
async def test_allowed_hosts_and_the_bound_address(make_api, settings, served, refused):
    api = await make_api(**settings)
    for host in served:
        answer = await call(api, "GET", "/_mock/health", headers={"Host": host})
        assert answer.status == 200, (host, answer.body)
    for host in refused:
        answer = await call(api, "GET", "/_mock/health", headers={"Host": host})
        assert (answer.status, answer.body) == (403, host_refused(host)), host


def test_allowed_hosts_come_from_the_flag_the_environment_or_the_file(tmp_path):
    env = "ALTCRAFT_MOCK_ALLOWED_HOSTS"
    assert load_settings({}, {}).allowed_hosts == ()
    assert load_settings({}, {env: " altcraft-mock , CI.example,"}).allowed_hosts == (
        "altcraft-mock",
        "ci.example",
    )
    flags = {"allowed_hosts": "*"}
    assert load_settings(flags, {env: "altcraft-mock"}).allowed_hosts == ("*",)
    config = tmp_path / "mock.toml"
    config.write_text('allowed_hosts = "altcraft-mock"\n')
    assert load_settings({"config": str(config)}, {}).allowed_hosts == ("altcraft-mock",)
    for bad in ("evil example", "a/b", "http://x"):
        with pytest.raises(ConfigError, match="--allowed-hosts"):
            load_settings({"allowed_hosts": bad}, {})


# -- control calls that change state ----------------------------------------------------------

CROSS_SITE_TYPES = [
    "text/plain",
    "text/plain;charset=UTF-8",
    "Text/Plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
]


def content_type_refused(content_type: str | None) -> dict[str, Any]:
    shown = "missing" if content_type is None else repr(content_type)
    return envelope(
        400,
        f"Content-Type: {shown} is not JSON: a control call that changes state takes"
        " application/json (or no body at all)",
    )


@pytest.mark.parametrize("content_type", CROSS_SITE_TYPES)
async def test_a_cross_site_body_type_cannot_change_state(api, content_type):
    """What a no-cors `fetch` or a form of another site can send, refused before it is read."""
    essence = content_type.split(";")[0].lower()
    headers = {"Content-Type": content_type}
    state_changes = [
        ("POST", "/_mock/faults", b'{"action": "drop"}'),
        ("PUT", "/_mock/progression", b'{"default": {"mode": "manual"}}'),
        ("POST", "/_mock/reset", b""),
        ("POST", "/_mock/fixtures", b'{"accounts": [{"name": "x", "tokens": ["x-token"]}]}'),
        ("DELETE", "/_mock/requests", b""),
    ]
    task_id = await api.import_batch([person(1)])
    state_changes.append(("POST", f"/_mock/tasks/{task_id}/complete", b""))
    for method, path, body in state_changes:
        answer = await call(api, method, path, data=body, headers=headers)
        assert (answer.status, answer.body) == (400, content_type_refused(essence)), path
    assert await faults(api) == []
    progression = (await call(api, "GET", "/_mock/progression")).body
    assert progression["default"]["mode"] == "polls"
    assert (await call(api, "GET", f"/_mock/tasks/{task_id}")).body["status"] == "queued"
    assert len((await call(api, "GET", "/_mock/requests")).body["requests"]) == 1


async def test_a_body_must_be_declared_json(api):
    for headers, shown in (
        ({}, None),  # a Blob of no type: no Content-Type at all
        ({"Content-Type": "application/octet-stream"}, "application/octet-stream"),
        ({"Content-Type": "application/xml"}, "application/xml"),
    ):
        answer = await call(
            api,
            "POST",
            "/_mock/faults",
            data=b'{"action": "drop"}',
            headers=headers,
            skip_auto_headers=["Content-Type"],
        )
        assert (answer.status, answer.body) == (400, content_type_refused(shown))
    assert await faults(api) == []


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/x+json"]
)
async def test_a_json_body_is_taken(api, content_type):
    answer = await call(
        api,
        "POST",
        "/_mock/faults",
        data=b'{"action": "drop"}',
        headers={"Content-Type": content_type},
    )
    assert answer.status == 201, answer.body
    assert [rule["action"] for rule in await faults(api)] == ["drop"]


async def test_no_body_at_all_still_works(api):
    """`curl -X POST .../_mock/reset` (no Content-Type), aiohttp's client (octet-stream,
    no body), the ControlClient (JSON type, no body), a DELETE."""
    task_id = await api.import_batch([person(1), person(2)])
    for headers in (
        {},
        {"Content-Type": "application/octet-stream"},
        {"Content-Type": "application/json"},
    ):
        advanced = await call(
            api,
            "POST",
            f"/_mock/tasks/{task_id}/advance",
            headers=headers,
            skip_auto_headers=["Content-Type"],
        )
        assert advanced.status == 200, (headers, advanced.body)
    completed = await call(
        api, "POST", f"/_mock/tasks/{task_id}/complete", skip_auto_headers=["Content-Type"]
    )
    assert (completed.status, completed.body["status"]) == (200, "completed")
    reset = await call(api, "POST", "/_mock/reset", skip_auto_headers=["Content-Type"])
    assert reset.status == 200, reset.body
    cleared = await call(api, "DELETE", "/_mock/faults", skip_auto_headers=["Content-Type"])
    assert cleared.status == 200, cleared.body


async def test_reading_calls_and_the_vendor_api_keep_their_content_types(api):
    """Only control calls that change state are held to JSON: a GET is not, and the
    vendor API still takes `curl -d`'s form type and text (SPEC §1)."""
    listed = await call(api, "GET", "/_mock/faults", headers={"Content-Type": "text/plain"})
    assert listed.status == 200
    for content_type in ("application/x-www-form-urlencoded", "text/plain"):
        answer = await call(
            api,
            "POST",
            f"/api/v1.1/{STATUS}",
            data=f'{{"token": "{TOKEN}", "task_id": "x"}}'.encode(),
            headers={"Content-Type": content_type},
        )
        assert answer.body["error"] == 404, answer.body  # read, authenticated: no such task


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://localhost"]
)
async def test_a_browser_of_another_origin_cannot_change_state_even_without_a_body(api, origin):
    """A no-cors POST with no body sends no Content-Type, but a browser sends `Origin`."""
    await call(api, "POST", "/_mock/faults", json={"action": "delay", "delay_ms": 0})
    for method, path in (("POST", "/_mock/reset"), ("DELETE", "/_mock/faults")):
        answer = await call(
            api, method, path, headers={"Origin": origin}, skip_auto_headers=["Content-Type"]
        )
        assert (answer.status, answer.body) == (
            403,
            envelope(
                403,
                f"Origin: {origin!r} is not this server: a page of another site"
                " cannot change the mock's state",
                DENIED,
            ),
        )
    assert len(await faults(api)) == 1
    # Reading is not refused (the browser keeps the answer from the page: no CORS).
    assert (await call(api, "GET", "/_mock/faults", headers={"Origin": origin})).status == 200


async def test_the_servers_own_origin_and_allowed_hosts_may_change_state(make_api):
    api = await make_api(allowed_hosts="mock.ci.example")
    own = f"http://{api.http.host}:{api.http.port}"
    for origin in (own, "https://mock.ci.example", "http://MOCK.CI.EXAMPLE:8443"):
        answer = await call(
            api,
            "POST",
            "/_mock/reset",
            headers={"Origin": origin},
            skip_auto_headers=["Content-Type"],
        )
        assert answer.status == 200, (origin, answer.body)


async def test_a_cors_preflight_is_never_granted(api):
    async with api.http.request(
        "OPTIONS",
        "/_mock/faults",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    ) as response:
        assert not any(name.lower().startswith("access-control-") for name in response.headers)


# -- integer query parameters ----------------------------------------------------------------------

INTEGER_PARAMS = sorted(
    {
        (route.path, param.name)
        for route in CONTROL_ROUTES
        for param in route.query
        if route.method == "GET" and (param.type == "integer" or param.name == "since")
    }
)
NOT_INTEGERS = {
    "superscript-two": "²",
    "arabic-indic-digits": "١٢",
    "5000-digits": "9" * 5000,
    "past-64-bits": str(2**63),
    "underscores": "1_000",
    "spaces": " 7 ",
    "hexadecimal": "0x10",
    "fraction": "1.5",
    "fullwidth-digits": "１２",
}


def test_every_integer_parameter_is_tried():
    assert {name for _, name in INTEGER_PARAMS} >= {
        "limit",
        "offset",
        "db_id",
        "workflow_id",
        "trigger_id",
        "error",
        "before",
        "since",
    }


@pytest.mark.parametrize("raw", NOT_INTEGERS.values(), ids=NOT_INTEGERS.keys())
@pytest.mark.parametrize(
    ("path", "name"), INTEGER_PARAMS, ids=[f"{p} {n}" for p, n in INTEGER_PARAMS]
)
async def test_a_malformed_integer_parameter_is_a_400_naming_it(api, path, name, raw):
    answer = await call(api, "GET", path, params={name: raw})
    assert answer.status == 400, answer.body
    check_schema("error.response", answer.body)
    debug = answer.body["error_debug"]
    assert debug.startswith(f"{name}: expected "), debug
    assert len(debug) < 200, debug  # a 5,000-digit value is not echoed


async def test_integer_parameters_still_read_integers(api):
    await api.call(STATUS, {"task_id": "x"})
    for query in (
        {"since": "0"},
        {"before": "+5"},
        {"error": "404"},
        {"limit": "1"},
        {"since": "2000-01-01"},
    ):
        answer = await call(api, "GET", "/_mock/requests", params=query)
        assert (answer.status, len(answer.body["requests"])) == (200, 1), (query, answer.body)
    answer = await call(
        api, "GET", "/_mock/requests", params={"since": "9999-12-31T23:59:59-23:00"}
    )
    assert answer.status == 400  # past the year 9999 in UTC: no instant, never a 500
