"""Cross-site requests, DNS rebinding and CONNECT against the real process
(issue 17, 23).

- Only a `Host` naming the server is answered (HTTP 403 and the envelope
  otherwise, never a redirect); bound to every interface with no
  `--allowed-hosts`, any Host (the Docker image); with names, those and the
  machine's own addresses.
- A state-changing control call of a type a page of another site can send is
  refused, 400; from a browser: a page of another origin cannot add a fault or
  reset the server (Chromium, when installed), and a page re-bound to 127.0.0.1
  reaches nothing.
- `CONNECT` is a 405 in the envelope whatever the status policy, and the
  connection is closed: never an empty `200 OK` that reads as a tunnel.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver.testing import MockServerProcess
from tests.helpers import CHROMIUM_ARGS, find_chromium
from tests.reliability.helpers import (
    TOKEN,
    ServerProcess,
    body_of,
    figure,
    other_address,
    raw_exchange,
    status_of,
)

pytestmark = pytest.mark.e2e

EVIL = "evil.example"


def host_refused(host: str) -> dict[str, Any]:
    return {
        "error": 403,
        "error_debug": f"Host: {host!r} is not allowed (--allowed-hosts)",
        "error_text": "Access denied",
    }


def exchange(address: str, port: int, head: str, body: bytes = b"", timeout: float = 10.0) -> bytes:
    return raw_exchange(address, port, head.encode() + b"\r\n" + body, timeout=timeout)


def get_health(address: str, port: int, host: str | None) -> bytes:
    if host is None:  # HTTP/1.0 with no Host header at all
        return exchange(address, port, "GET /_mock/health HTTP/1.0\r\n")
    return exchange(
        address, port, f"GET /_mock/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    )


# -- the Host ----------------------------------------------------------------------------


def test_a_host_that_does_not_name_the_server_is_refused_on_every_path(tmp_path):
    """DNS rebinding: a page of evil.example re-binds its name to 127.0.0.1; its
    requests reach the server with `Host: evil.example:PORT`."""
    tried = 0
    with ServerProcess(tmp_path, "--progression", "instant") as server:
        port = server.port
        for host in (EVIL, f"{EVIL}:{port}", f"127.0.0.1.{EVIL}:{port}", f"altcraft-mock:{port}"):
            body = json.dumps({"action": "drop"}).encode()
            for head, payload in (
                ("GET /_mock/health HTTP/1.1", b""),
                ("GET /_mock/requests HTTP/1.1", b""),
                ("POST /_mock/faults HTTP/1.1", body),
                ("POST /api/v1.1/databases/list", json.dumps({"token": TOKEN}).encode()),
                ("GET /no/such/path HTTP/1.1", b""),
            ):
                line = head if head.endswith("HTTP/1.1") else head + " HTTP/1.1"
                answer = exchange(
                    server.host,
                    port,
                    f"{line}\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\nConnection: close\r\n",
                    payload,
                )
                tried += 1
                assert status_of(answer) == 403, (host, head, answer[:300])
                assert body_of(answer) == host_refused(host), (host, head)
                assert b"\r\nLocation:" not in answer
        # What names the server is served, any port; no Host at all (HTTP/1.0) too.
        for host in (f"127.0.0.1:{port}", "localhost", f"LOCALHOST:{port}", "[::1]:1", None):
            answer = get_health(server.host, port, host)
            assert status_of(answer) == 200, (host, answer[:300])
            assert body_of(answer)["status"] == "ok"
        assert server.control("GET", "/_mock/faults")["faults"] == []
        assert server.crash_lines() == []
    figure("host-check", refused=tried, served=5, faults_added=0)


def test_bound_to_every_interface_any_host_unless_names_are_given(tmp_path):
    """The Docker image binds 0.0.0.0: a container is reached by its service name.
    Named hosts keep the check, and the machine's own addresses stay served."""
    other = other_address()
    with ServerProcess(tmp_path, "--host", "0.0.0.0") as server:
        for host in (EVIL, f"altcraft-mock:{server.port}", "10.9.8.7"):
            assert status_of(get_health("127.0.0.1", server.port, host)) == 200, host
    with MockServerProcess(
        ["--host", "0.0.0.0"], env={"ALTCRAFT_MOCK_ALLOWED_HOSTS": "altcraft-mock,ci.example"}
    ) as named:
        port = int(named.url.rsplit(":", 1)[1])
        for host in ("altcraft-mock", f"ALTCRAFT-MOCK:{port}", "ci.example", f"127.0.0.1:{port}"):
            assert status_of(get_health("127.0.0.1", port, host)) == 200, host
        for host in (EVIL, "10.9.8.7", f"altcraft-mock.{EVIL}"):
            answer = get_health("127.0.0.1", port, host)
            assert (status_of(answer), body_of(answer)) == (403, host_refused(host)), host
        if other is not None:
            # Dialled by the machine's own address: that address names it.
            assert status_of(get_health(other, port, f"{other}:{port}")) == 200
            assert status_of(get_health(other, port, EVIL)) == 403
    figure("host-check-wildcard", checked_from=other or "loopback only")


# -- cross-site control calls ------------------------------------------------------------


def test_a_no_cors_body_cannot_add_a_fault(tmp_path):
    """The issue's reproduction as bytes: a `text/plain` POST adding a `drop` fault."""
    with ServerProcess(tmp_path) as server:
        body = json.dumps({"action": "drop"}).encode()
        for content_type in ("text/plain;charset=UTF-8", "application/x-www-form-urlencoded"):
            status, answer = server.request(
                "POST", "/_mock/faults", body, {"Content-Type": content_type}
            )
            assert status == 400, answer
            assert answer["error_debug"].startswith("Content-Type: "), answer
        # The same call as JSON, and a reset with no body at all (curl -X POST), work.
        status, _ = server.request("POST", "/_mock/faults", body)
        assert status == 201
        reset = b"POST /_mock/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        assert status_of(raw_exchange(server.host, server.port, reset)) == 200
        assert server.control("GET", "/_mock/faults")["faults"] == []
        assert server.crash_lines() == []


# -- CONNECT -----------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["always_200", "mirror"])
def test_connect_is_a_405_and_the_connection_closes(tmp_path, policy):
    targets = ("/api/v1.1/tasks/status", "/_mock/health", "/_mock/reset", f"{EVIL}:443", "/")
    with ServerProcess(tmp_path, "--http-status", policy) as server:
        for target in targets:
            # A request pipelined after the CONNECT is never answered: no tunnel, no
            # second request on that connection.
            answer = raw_exchange(
                server.host,
                server.port,
                f"CONNECT {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
                + b"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                timeout=10,
            )
            assert status_of(answer) == 405, (target, answer[:300])
            assert answer.count(b"HTTP/1.1 ") == 1, (target, answer)
            head = answer.partition(b"\r\n\r\n")[0].lower()
            assert b"connection: close" in head and b"content-length: " in head
            assert body_of(answer) == {
                "error": 405,
                "error_debug": "method: CONNECT is not allowed (this server is not a proxy)",
                "error_text": "Method not allowed",
            }
        assert server.alive() and server.crash_lines() == []
    figure(f"connect-{policy}", targets=len(targets), answered_405=len(targets))


# -- a real browser ----------------------------------------------------------------------

ATTACK_PAGE = """<!doctype html>
<title>another site</title>
<iframe name="sink"></iframe>
<form id="form" method="POST" enctype="text/plain" target="sink" action="{mock}/_mock/faults">
  <input name='{{"action": "drop", "x": "' value='"}}'>
</form>
<script>
window.attack = async () => {{
  const mock = "{mock}";
  const drop = JSON.stringify({{ action: "drop" }});
  const outcomes = {{}};
  const send = async (name, url, init) => {{
    try {{
      await fetch(url, init);
      outcomes[name] = "sent";
    }} catch (error) {{
      outcomes[name] = "blocked: " + error;
    }}
  }};
  await send("text", mock + "/_mock/faults", {{ method: "POST", mode: "no-cors", body: drop }});
  await send("blob", mock + "/_mock/faults", {{
    method: "POST", mode: "no-cors", body: new Blob([drop]),
  }});
  await send("reset", mock + "/_mock/reset", {{ method: "POST", mode: "no-cors" }});
  await send("json", mock + "/_mock/faults", {{
    method: "POST", headers: {{ "Content-Type": "application/json" }}, body: drop,
  }});
  outcomes.beacon = navigator.sendBeacon(mock + "/_mock/faults", drop);
  document.getElementById("form").submit();
  return outcomes;
}};
</script>
"""


@pytest.fixture
def chromium_launcher() -> Iterator[Any]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install -e '.[test]' (or make test)")
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found (see find_chromium in tests/helpers.py)")
    with sync_playwright() as playwright:

        def launch(*extra: str) -> Any:
            try:
                return playwright.chromium.launch(
                    executable_path=executable, args=[*CHROMIUM_ARGS, *extra]
                )
            except Error as exc:
                pytest.skip(f"Chromium did not start: {str(exc).splitlines()[0]}")

        yield launch


class _AttackSite:
    """Another origin on this machine (`localhost`, another port) serving the page."""

    def __init__(self, page: str) -> None:
        body = page.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _AttackSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_page_of_another_origin_cannot_add_a_fault_or_reset(tmp_path: Path, chromium_launcher):
    args = ["--journal-control", "true", "--progression", "instant"]
    with MockServerProcess(args) as server:
        mock = server.client()
        mock.api(
            "workflows/import_and_start_batch",
            {"workflow_id": 2, "data": [{"data": {"email": "a@b.io"}}]},
        )
        browser = chromium_launcher()
        with _AttackSite(ATTACK_PAGE.format(mock=server.url)) as site:
            page = browser.new_page()
            page.goto(site.url)
            outcomes = page.evaluate("window.attack()")
            page.wait_for_timeout(1500)  # the beacon and the form post land
            browser.close()
        assert outcomes["json"].startswith("blocked"), outcomes  # the preflight is refused
        assert mock.faults() == [], "a page of another origin added a fault"
        assert mock.profiles(email="a@b.io"), "a page of another origin reset the server"
        # The requests did reach the server (the browser did not stop them): refused there.
        refused = [
            entry
            for entry in mock.requests(limit=1000)
            if entry["path"] in ("/_mock/faults", "/_mock/reset") and entry["method"] == "POST"
        ]
        statuses = sorted(entry["status"] for entry in refused)
        assert len(refused) >= 4 and set(statuses) <= {400, 403}, refused
    figure("cross-site-browser", requests_refused=len(refused), faults_added=0, resets=0)


def test_a_page_rebound_to_loopback_reaches_nothing(chromium_launcher):
    """`evil.example` resolved to 127.0.0.1 by the browser (as a re-binding DNS server
    would): the dashboard, the journal and the vendor API all answer 403."""
    with MockServerProcess([]) as server:
        port = server.url.rsplit(":", 1)[1]
        browser = chromium_launcher(f"--host-resolver-rules=MAP {EVIL} 127.0.0.1")
        page = browser.new_page()
        answers = {}
        for path in ("/_mock/ui", "/_mock/requests", "/api/v1.1/databases/list"):
            response = page.goto(f"http://{EVIL}:{port}{path}")
            answers[path] = (response.status, json.loads(response.body()))
        browser.close()
        for path, (status, body) in answers.items():
            assert (status, body) == (403, host_refused(f"{EVIL}:{port}")), path
