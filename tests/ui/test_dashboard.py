"""The dashboard at /_mock/ui in headless Chromium (issue 8).

A client imports a batch through the vendor API against the real server; the
page must then show what was sent and what it caused (the requests, the
injected fault, the task reaching 100, the profiles), update without a reload,
and its buttons must act on the server: task control, fault rules, reset,
progression. `expect(...)` retries until the page's next poll shows the change.
"""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.testing import ControlClient, MockServerProcess
from tests.helpers import BATCH_TASK, STATUS, TOKEN, person

pytestmark = pytest.mark.e2e
expect: Any = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed"
).expect

ADMIN = "dashboard-admin-secret"
FINISHED = ("completed", "failed")
REFRESH_MS = 250  # the page polls this often (1.5 s by default)


def import_batch(mock: ControlClient, items: list[dict[str, Any]], workflow_id: int = 2) -> str:
    answer = mock.api(BATCH_TASK, {"workflow_id": workflow_id, "matching": "email", "data": items})
    assert answer["error"] == 0, answer
    return answer["task_id"]


def poll_to_end(mock: ControlClient, task_id: str) -> dict[str, Any]:
    """What a client does: poll tasks/status until the task is finished."""
    for _ in range(10):
        data = mock.api(STATUS, {"task_id": task_id})["data"]
        if data["status"] in FINISHED:
            return data
    raise AssertionError(f"task {task_id} did not finish")


def open_dashboard(page: Any, server: MockServerProcess) -> Any:
    page.goto(f"{server.url}/_mock/ui?refresh={REFRESH_MS}")
    expect(page.locator("#connection")).to_have_text("● live")
    return page


def task_row(page: Any, task_id: str) -> Any:
    return page.locator(f"#task-table tbody tr[data-id='{task_id}']")


def test_a_batch_with_an_injected_fault_shows_requests_fault_task_and_profiles(server, page):
    mock = server.client()
    fault = mock.add_fault("error", error=503, times=1, match={"method": BATCH_TASK})
    items = [person(n) for n in range(1, 6)]
    refused = mock.api(BATCH_TASK, {"workflow_id": 2, "matching": "email", "data": items})
    assert refused == {"error": 503, "error_text": "Service unavailable"}
    task_id = import_batch(mock, items)  # the client retries
    assert poll_to_end(mock, task_id)["status"] == "completed"

    open_dashboard(page, server)

    rows = page.locator("#request-table tbody tr")
    expect(rows).to_have_count(2 + 2)  # the refused import, the accepted one, two polls
    refused_row = rows.filter(has_text="503")
    expect(refused_row).to_have_count(1)
    expect(refused_row).to_contain_text(BATCH_TASK)
    expect(refused_row.locator(".badge.fault")).to_have_text("⚡ error")
    expect(rows.first).to_contain_text(STATUS)  # newest first

    row = task_row(page, task_id)
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(row).to_contain_text("completed")
    expect(row).to_contain_text("5 / 5 items")

    profiles = page.locator("#profile-table tbody")
    for n in range(1, 6):
        expect(profiles).to_contain_text(f"profile{n}@example.com")
    expect(page.locator("#profiles-page")).to_have_text("1–5 of 5")

    fault_row = page.locator(f"#fault-table tbody tr[data-id='{fault['id']}']")
    expect(fault_row).to_contain_text("503 Service unavailable")
    expect(fault_row.locator("td.num")).to_contain_text("1of 2 matched")

    expect(page.locator("#settings")).to_contain_text("Seed42")
    expect(page.locator("#settings")).to_contain_text("Status policyalways_200")
    expect(page.locator("#settings")).to_contain_text("Progressionpolls · 2 steps")
    expect(page.locator("#settings")).to_contain_text("Clockreal · 20")  # and the time

    # Request and answer side by side, the token masked.
    refused_row.click()
    expect(page.locator("#request-pane")).to_contain_text('"token": "abcd…"')
    expect(page.locator("#request-pane")).to_contain_text("profile5@example.com")
    expect(page.locator("#response-pane")).to_contain_text("Service unavailable")
    expect(page.locator("#response-pane")).to_contain_text(fault["id"])
    assert TOKEN not in page.content()

    # The accepted import links to its task, and the task back to its request.
    rows.filter(has_text=BATCH_TASK).filter(has_not_text="503").click()
    page.locator("#request-summary button.link").click()
    expect(page.locator("#task-summary")).to_contain_text(task_id)
    expect(page.locator("#task-body")).to_contain_text("Failed items (0)")


def test_the_page_updates_without_a_reload(server, page):
    mock = server.client()
    open_dashboard(page, server)
    expect(page.locator("#request-empty")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    mock.set_progression({"mode": "manual"})
    task_id = import_batch(mock, [person(1), person(2)])
    expect(page.locator("#request-table tbody tr")).to_have_count(1)
    expect(task_row(page, task_id)).to_contain_text("queued")
    mock.advance(task_id)
    expect(task_row(page, task_id).get_by_role("progressbar")).to_have_attribute(
        "aria-valuenow", "50"
    )
    mock.complete(task_id)
    expect(task_row(page, task_id)).to_contain_text("completed")
    expect(page.locator("#profile-table tbody tr")).to_have_count(2)
    assert page.evaluate("window.notReloaded") is True


def test_task_buttons_advance_complete_and_fail(server, page):
    mock = server.client()
    open_dashboard(page, server)
    page.locator("#progression-select").select_option("manual")
    expect(page.locator(".toast").last).to_contain_text("manual")
    assert mock._call("GET", "/_mock/progression")["default"]["mode"] == "manual"
    first = import_batch(mock, [person(n) for n in range(1, 5)])
    second = import_batch(mock, [person(n) for n in range(5, 9)])

    row = task_row(page, first)
    expect(row).to_contain_text("queued")
    row.locator("button[data-action=advance]").click()
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "50")
    expect(row).to_contain_text("2 / 4 items")
    row.locator("button[data-action=complete]").click()
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(row).to_contain_text("completed")
    expect(row.locator("button")).to_have_count(0)  # nothing left to control
    assert mock.task(first)["status"] == "completed"

    # The detail's form fails a task with a chosen code and text.
    task_row(page, second).click()
    page.locator("#fail-error").fill("503")
    page.locator("#fail-text").fill("Workflow crashed")
    page.locator("#task-fail-form button[type=submit]").click()
    expect(task_row(page, second)).to_contain_text("failed")
    expect(page.locator("#task-body .failure")).to_have_text(
        "Failed with error 503: Workflow crashed"
    )
    assert mock.task(second)["failure"] == {"error": 503, "error_text": "Workflow crashed"}

    # And the row's Fail button, on a third task.
    third = import_batch(mock, [person(9)])
    task_row(page, third).locator("button[data-action=fail]").click()
    expect(task_row(page, third)).to_contain_text("failed")
    assert mock.task(third)["failure"]["error"] == 500


def test_fault_rules_are_added_and_removed_through_the_form(server, page):
    mock = server.client()
    open_dashboard(page, server)
    expect(page.locator("#fault-empty")).to_be_visible()
    form = page.locator("#fault-form")
    form.locator("select[name=action]").select_option("fail_items")
    expect(form.locator("input[name=http_status]")).to_be_hidden()
    form.locator("input[name=method]").fill(BATCH_TASK)
    form.locator("input[name=pattern]").fill("(")
    form.locator("button[type=submit]").click()
    expect(page.locator("#fault-form-error")).to_contain_text("pattern: invalid regular expression")
    assert mock.faults() == []

    form.locator("input[name=pattern]").fill(r"@bounce\.test$")
    form.locator("button[type=submit]").click()
    rows = page.locator("#fault-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("fail_items")
    expect(rows.first).to_contain_text(r"/@bounce\.test$/ → 400")
    [rule] = mock.faults()
    assert (rule["action"], rule["pattern"], rule["match"]) == (
        "fail_items",
        r"@bounce\.test$",
        {"method": BATCH_TASK},
    )

    # The rule acts on the next import, and the page counts the hit.
    task_id = import_batch(mock, [person(1), {"data": {"email": "x@bounce.test"}}])
    poll_to_end(mock, task_id)
    expect(rows.first.locator("td.num")).to_contain_text("1of 1 matched")
    expect(task_row(page, task_id)).to_contain_text("1 failed")

    rows.first.locator("button[data-action=remove]").click()
    expect(page.locator("#fault-empty")).to_be_visible()
    assert mock.faults() == []


def test_the_reset_button_asks_once_more_then_resets(server, page):
    mock = server.client()
    task_id = import_batch(mock, [person(1), person(2)])
    poll_to_end(mock, task_id)
    mock.add_fault("delay", delay_ms=0)
    open_dashboard(page, server)
    expect(page.locator("#profile-table tbody tr")).to_have_count(2)

    button = page.locator("#reset-button")
    button.click()
    expect(button).to_have_text("Click again to reset everything")
    assert len(mock.tasks()) == 1  # not yet
    button.click()
    expect(page.locator("#request-empty")).to_be_visible()
    expect(page.locator("#task-empty")).to_be_visible()
    expect(page.locator("#profile-empty")).to_be_visible()
    expect(page.locator("#fault-empty")).to_be_visible()
    assert mock.tasks() == [] and mock.profiles() == [] and mock.faults() == []


def test_the_request_list_filters_and_pages_back(server, page):
    mock = server.client()
    task_id = import_batch(mock, [person(1)])
    for _ in range(55):
        mock.api(STATUS, {"task_id": "no-such-task"})
    mock.api(STATUS, {"task_id": task_id})
    ids = [entry["id"] for entry in mock.requests()]  # ids go on across resets
    assert len(ids) == 57
    open_dashboard(page, server)
    rows = page.locator("#request-table tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first.locator("td").first).to_have_text(str(ids[-1]))

    page.locator("#journal-older").click()
    expect(rows).to_have_count(7)
    expect(rows.first.locator("td").first).to_have_text(str(ids[6]))
    expect(rows.last.locator("td").first).to_have_text(str(ids[0]))
    expect(page.locator("#journal-older")).to_be_disabled()
    page.locator("#journal-newer").click()
    expect(rows).to_have_count(50)

    page.locator("#filter-method").fill(BATCH_TASK)
    page.locator("#journal-filters button[type=submit]").click()
    expect(rows).to_have_count(1)
    page.locator("#filter-method").fill("")
    page.locator("#filter-error").fill("404")
    page.locator("#journal-filters button[type=submit]").click()
    expect(rows).to_have_count(50)
    expect(rows.filter(has_text="Task not found")).to_have_count(0)  # bodies stay in the detail
    expect(rows.filter(has_text="404")).to_have_count(50)
    page.locator("#filter-reset").click()
    expect(rows.first.locator("td").first).to_have_text(str(ids[-1]))


def test_profiles_page_search_and_engagements(server, page):
    mock = server.client()
    task_id = import_batch(mock, [person(n) for n in range(1, 31)])
    poll_to_end(mock, task_id)
    open_dashboard(page, server)
    rows = page.locator("#profile-table tbody tr")
    expect(rows).to_have_count(25)
    expect(page.locator("#profiles-page")).to_have_text("1–25 of 30")
    expect(page.locator("#db-tabs")).to_contain_text("Database 130")
    page.locator("#profiles-next").click()
    expect(page.locator("#profiles-page")).to_have_text("26–30 of 30")
    expect(rows).to_have_count(5)

    page.locator("#profile-query").fill("PROFILE7@example.com")
    page.locator("#profile-search button[type=submit]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("profile7@example.com")
    expect(rows.first).to_contain_text("wf 2")
    rows.first.click()
    expect(page.locator("#profile-body")).to_contain_text("Engagements (1)")
    expect(page.locator("#profile-body")).to_contain_text("created")
    profile_id = mock.profiles(email="profile7@example.com")[0]["id"]

    page.locator("#profile-field").select_option("phone")
    page.locator("#profile-query").fill("+79000000012")
    page.locator("#profile-search button[type=submit]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("profile12@example.com")

    page.locator("#profile-field").select_option("profile_id")
    page.locator("#profile-query").fill(profile_id)
    page.locator("#profile-search button[type=submit]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("profile7@example.com")

    page.locator("#profile-query").fill("nobody-at-all")
    page.locator("#profile-search button[type=submit]").click()
    expect(page.locator("#profile-empty")).to_be_visible()


def test_what_a_client_sent_is_shown_as_text_never_as_markup(server, page):
    mock = server.client()
    payload = '<img src=x id="pwned" onerror="window.pwned=1"><b>bold</b>'
    task_id = import_batch(mock, [person(1, _fname=payload)])
    poll_to_end(mock, task_id)
    open_dashboard(page, server)
    expect(page.locator("#profile-table tbody")).to_contain_text(payload)
    page.locator("#request-table tbody tr").last.click()
    expect(page.locator("#request-pane")).to_contain_text("pwned")
    expect(page.locator("#pwned")).to_have_count(0)
    expect(page.locator("#profile-table b")).to_have_count(0)
    assert page.evaluate("window.pwned") is None


def test_with_an_admin_token_the_page_asks_for_it_once(browser, page):
    with MockServerProcess(["--admin-token", ADMIN]) as server:
        mock = server.client(admin_token=ADMIN)
        task_id = import_batch(mock, [person(1)])
        poll_to_end(mock, task_id)

        page.goto(f"{server.url}/_mock/ui?refresh={REFRESH_MS}")
        dialog = page.locator("#token-dialog")
        expect(dialog).to_be_visible()
        page.locator("#token-input").fill("not-the-token")
        page.locator("#token-form button[type=submit]").click()
        expect(page.locator("#token-error")).to_contain_text("refused (HTTP 403)")
        page.locator("#token-input").fill(ADMIN)
        page.locator("#token-form button[type=submit]").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#profile-table tbody")).to_contain_text("profile1@example.com")
        expect(task_row(page, task_id)).to_contain_text("completed")

        page.reload()  # kept for the tab: not asked again
        expect(page.locator("#connection")).to_have_text("● live")
        expect(dialog).to_be_hidden()
        expect(page.locator("#request-table tbody tr")).to_have_count(2)


def test_trigger_launches_are_shown_and_deleted_profiles_are_gone(server, page):
    mock = server.client()
    answer = mock.api(
        "campaigns/triggers/import_and_start_batch_task",
        {"trigger_id": 13, "data": [person(41), person(42)]},
    )
    poll_to_end(mock, answer["task_id"])
    deleted = mock.api("profiles/delete", {"db_id": 1, "email": "profile42@example.com"})
    assert deleted["error"] == 0, deleted
    open_dashboard(page, server)
    expect(task_row(page, answer["task_id"])).to_contain_text("trigger 13")

    page.locator("#profile-query").fill("profile41@example.com")
    page.locator("#profile-search button[type=submit]").click()
    rows = page.locator("#profile-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("trg 13")
    rows.first.click()
    expect(page.locator("#profile-body")).to_contain_text("trigger 13")

    page.locator("#profile-query").fill("profile42@example.com")
    page.locator("#profile-search button[type=submit]").click()
    expect(page.locator("#profile-empty")).to_be_visible()


def test_the_server_strip_shows_start_up_latency_and_faults(page, tmp_path):
    """`--latency` and `--faults FILE` (issue 16 item 4) are shown beside the other settings."""
    rules = tmp_path / "start-faults.json"
    rules.write_text('[{"action": "error", "error": 503, "times": 1}]', encoding="utf-8")
    flags = ["--latency", f"20-50,{STATUS}=100", "--faults", str(rules)]
    with MockServerProcess(flags, isolated_env=True) as configured:
        open_dashboard(page, configured)

        settings = page.locator("#settings")
        expect(settings).to_contain_text(f"Latency20–50 ms · {STATUS} 100 ms")
        expect(settings).to_contain_text(f"Start-up faults{rules} · 1 rule")
