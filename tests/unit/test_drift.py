"""The drift check's pure parts: id shapes, answer shapes, the comparison of two
answers (each difference kind), task polls, the report, redaction, the probes'
bodies and the mock's account. The command against real processes is in
tests/e2e/test_drift.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mockserver.config import DEFAULT_MAX_BODY_BYTES
from mockserver.control.journal.masking import mask_token
from mockserver.drift.account import ACCOUNT_NAME, Workflow, fixture_document, resolve_ids
from mockserver.drift.command import UsageError, base_url, mock_settings
from mockserver.drift.compare import (
    Difference,
    DifferenceKind,
    compare_answers,
    compare_runs,
    compare_shapes,
)
from mockserver.drift.exchange import Answer, ProbeRun
from mockserver.drift.probes import PROBES, Need, ProbeContext, missing_needs
from mockserver.drift.report import (
    REPORT_FORMAT,
    ProbeComparison,
    Redactor,
    Report,
    json_report,
    text_report,
)
from mockserver.drift.shapes import id_shape, shape_of
from mockserver.schemas import shipped_schemas

K = DifferenceKind
OK = {"error": 0, "error_text": "Successful operation"}
PROBE = {probe.name: probe for probe in PROBES}
MOCK_NAMES = frozenset({"queued", "processing", "completed", "failed"})


def answer(body: object, status: int = 200) -> Answer:
    return Answer(http_status=status, body=body)


def kinds(differences: list[Difference]) -> list[tuple[DifferenceKind, str]]:
    return [(d.kind, d.path) for d in differences]


# -- id shapes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        (17, "integer"),
        ("17", "<digits>"),
        ("580f84a1-9d0c-4675-8685-80f158a3655a", "<uuid>"),
        ("task_580f84a1-9d0c-4675-8685-80f158a3655a", "task_<uuid>"),
        ("5c312219aadd2cfffed16c9a", "<hex24>"),
        ("deadbeef", "<hex>"),
        ("job-42", "job-<digits>"),
        ("Customers", "<string>"),
        (None, "null"),
        (1.5, "number"),
    ],
)
def test_an_id_is_compared_by_its_shape_class(value, shape):
    assert id_shape(value) == shape


# -- shapes ---------------------------------------------------------------------------


def test_lists_compare_the_union_of_their_elements_not_their_length():
    one = shape_of({"data": [{"id": 1, "name": "A"}]})
    many = shape_of({"data": [{"id": 2, "name": "B"}, {"id": 3, "name": "C", "mode": None}]})
    assert compare_shapes(one, many) == [
        Difference(K.FIELD_NAMES, "data[*].mode", "absent", "null")
    ]


def test_an_empty_list_is_not_compared_with_a_full_one():
    assert compare_shapes(shape_of({"data": []}), shape_of({"data": [{"id": 1}]})) == []


def test_top_level_members_are_the_envelope_below_them_field_names():
    real = shape_of({**OK, "data": {"status": "x"}, "total": 3})
    mock = shape_of({**OK, "data": {"status": "y", "progress": 5}})
    assert kinds(compare_shapes(real, mock)) == [
        (K.FIELD_NAMES, "data.progress"),
        (K.ENVELOPE_KEYS, "total"),
    ]


def test_json_types_are_compared_recursively_with_the_path():
    real = shape_of({"data": {"items": [{"progress": "50"}]}})
    mock = shape_of({"data": {"items": [{"progress": 50}]}})
    assert compare_shapes(real, mock) == [
        Difference(K.JSON_TYPE, "data.items[*].progress", "string", "integer")
    ]


def test_null_alone_against_a_type_differs_null_beside_the_type_is_data():
    assert kinds(compare_shapes(shape_of({"result": None}), shape_of({"result": {}}))) == [
        (K.JSON_TYPE, "result")
    ]
    real = shape_of({"data": [{"description": None}, {"description": "x"}]})
    mock = shape_of({"data": [{"description": "y"}]})
    assert compare_shapes(real, mock) == []


def test_ids_differ_by_shape_never_by_value():
    same = compare_shapes(
        shape_of({"task_id": "580f84a1-9d0c-4675-8685-80f158a3655a", "data": {"id": 7}}),
        shape_of({"task_id": "11111111-2222-4333-8444-555555555555", "data": {"id": 1}}),
    )
    assert same == []
    assert compare_shapes(
        shape_of({"task_id": "task_580f84a1-9d0c-4675-8685-80f158a3655a", "data": {"id": "7"}}),
        shape_of({"task_id": "580f84a1-9d0c-4675-8685-80f158a3655a", "data": {"id": 7}}),
    ) == [
        Difference(K.ID_SHAPE, "data.id", "<digits>", "integer"),
        Difference(K.ID_SHAPE, "task_id", "task_<uuid>", "<uuid>"),
    ]


# -- answers ---------------------------------------------------------------------------


def test_identical_answers_have_no_differences():
    body = {**OK, "data": [{"id": 1, "name": "A", "is_active": True}], "total": 1}
    assert compare_answers(answer(body), answer(json.loads(json.dumps(body)))) == []


def test_http_status_error_and_error_text_are_compared_exactly():
    real = answer({"error": 403, "error_text": "Forbidden"}, 403)
    mock = answer({"error": 401, "error_text": "API token required"}, 200)
    assert compare_answers(real, mock) == [
        Difference(K.HTTP_STATUS, "", "HTTP 403", "HTTP 200"),
        Difference(K.ERROR, "error", "403", "401"),
        Difference(K.ERROR_TEXT, "error_text", "'Forbidden'", "'API token required'"),
    ]


def test_error_debug_is_compared_by_presence_not_wording():
    real = answer({"error": 400, "error_text": "Invalid request", "error_debug": "bad json"})
    mock = answer({"error": 400, "error_text": "Invalid request", "error_debug": "other words"})
    assert compare_answers(real, mock) == []
    bare = answer({"error": 400, "error_text": "Invalid request"})
    assert compare_answers(bare, mock) == [
        Difference(K.ENVELOPE_KEYS, "error_debug", "absent", "string")
    ]


def test_a_body_that_is_not_a_json_object_is_a_body_format_difference():
    html = Answer(http_status=413, excerpt="<html>Request Entity Too Large</html>")
    mock = answer({"error": 400, "error_text": "Invalid request"})
    differences = compare_answers(html, mock)
    assert kinds(differences) == [(K.HTTP_STATUS, ""), (K.BODY_FORMAT, "")]
    assert "Request Entity Too Large" in differences[1].real


def test_no_answer_on_one_side_is_a_difference_on_both_is_none():
    cut = Answer(problem="the connection ended without an answer (ServerDisconnectedError)")
    mock = answer({"error": 400, "error_text": "Invalid request"}, 400)
    assert compare_answers(cut, mock) == [
        Difference(K.NO_ANSWER, "", cut.problem or "", "HTTP 400, a JSON object")
    ]
    assert compare_answers(cut, cut) == []


def test_a_redirect_names_where_it_points():
    moved = Answer(http_status=301, excerpt="", location="https://example.test/api/v1.1/x")
    differences = compare_answers(moved, answer(OK))
    assert differences[0] == Difference(
        K.HTTP_STATUS, "", "HTTP 301 to https://example.test/api/v1.1/x", "HTTP 200"
    )


# -- task polls ------------------------------------------------------------------------


def status(name: str, progress: int, result: object = None) -> Answer:
    return answer({**OK, "data": {"status": name, "progress": progress, "result": result}})


DONE = {"error": 0, "error_text": "", "result": [{"profile_id": "5c312219aadd2cfffed16c9a"}]}


def polls(*answers: Answer, unfinished: bool = False) -> ProbeRun:
    return ProbeRun(PROBE["task-status"], answers, unfinished=unfinished)


def test_polls_compare_final_status_names_and_the_names_the_mock_never_answers():
    real = polls(status("in_progress", 0), status("success", 100, DONE))
    mock = polls(status("processing", 50), status("completed", 100, DONE))
    assert compare_runs(real, mock, MOCK_NAMES) == [
        Difference(K.STATUS_NAME, "data.status", "'success'", "'completed'"),
        Difference(
            K.STATUS_NAME,
            "data.status",
            "'in_progress'",
            "never answered (its names: completed, failed, processing, queued)",
        ),
    ]


def test_polls_of_tasks_that_end_alike_have_no_differences():
    real = polls(status("queued", 0), status("processing", 40), status("completed", 100, DONE))
    mock = polls(status("processing", 50), status("completed", 100, DONE))
    assert compare_runs(real, mock, MOCK_NAMES) == []


def test_a_task_that_ends_on_one_side_only_is_a_task_end_difference():
    real = polls(status("queued", 0), status("queued", 0), unfinished=True)
    mock = polls(status("processing", 50), status("completed", 100, DONE))
    assert compare_runs(real, mock, MOCK_NAMES) == [
        Difference(
            K.TASK_END,
            "data.status",
            "still 'queued' after 2 polls",
            "ended 'completed' after 2 polls",
        )
    ]


def test_the_running_answers_are_compared_by_shape():
    real = polls(
        answer({**OK, "data": {"status": "processing", "result": {}}}),
        status("completed", 100, DONE),
    )
    mock = polls(status("processing", 50), status("completed", 100, DONE))
    assert kinds(compare_runs(real, mock, MOCK_NAMES)) == [
        (K.FIELD_NAMES, "data.progress"),
        (K.JSON_TYPE, "data.result"),
    ]


def test_a_probe_sent_on_one_side_only_is_a_no_answer_difference():
    real = ProbeRun(PROBE["task-status"], not_sent="the import answered no task_id")
    mock = polls(status("completed", 100, DONE))
    assert kinds(compare_runs(real, mock, MOCK_NAMES)) == [(K.NO_ANSWER, "")]
    skipped = ProbeRun(PROBE["task-status"], not_sent="needs --allow-writes")
    assert compare_runs(skipped, skipped, MOCK_NAMES) == []


# -- probes ----------------------------------------------------------------------------


CONTEXT = ProbeContext("s3cret-token-value", "0123456789ab", 1, 2, 1, DEFAULT_MAX_BODY_BYTES + 1024)


def test_the_over_limit_body_is_valid_json_of_exactly_the_size_asked():
    body = PROBE["body-over-limit"].payload(CONTEXT, None)
    assert len(body) == DEFAULT_MAX_BODY_BYTES + 1024
    assert json.loads(body)["token"] == CONTEXT.token


def test_the_malformed_body_is_not_json():
    with pytest.raises(ValueError):
        json.loads(PROBE["malformed-body"].payload(CONTEXT, None))


def test_made_up_values_are_marked_and_cannot_exist():
    assert CONTEXT.throwaway_email == "altcraft-mock-drift+0123456789ab@example.invalid"
    assert CONTEXT.absent_email.endswith("@example.invalid")
    assert id_shape(CONTEXT.unknown_task_id) == "<uuid>"
    imported = json.loads(PROBE["import-profile"].payload(CONTEXT, None))
    assert imported["data"] == [{"data": {"email": CONTEXT.throwaway_email}}]
    assert json.loads(PROBE["task-status"].payload(CONTEXT, "t-1"))["task_id"] == "t-1"


def test_writes_are_sent_only_when_allowed():
    writes = [probe for probe in PROBES if Need.WRITES in probe.needs]
    assert [p.name for p in writes] == [
        "import-profile",
        "task-status",
        "profile-get",
        "profile-delete",
    ]
    assert all(missing_needs(p, CONTEXT, allow_writes=False) == [Need.WRITES] for p in writes)
    assert all(missing_needs(p, CONTEXT, allow_writes=True) == [] for p in PROBES)
    read_only = [p for p in PROBES if Need.WRITES not in p.needs]
    assert PROBES[: len(read_only)] == tuple(read_only), "read-only probes come first"


# -- the mock's account --------------------------------------------------------------


def listing(*entries: dict) -> Answer:
    return answer({**OK, "data": list(entries)})


def test_ids_not_given_come_from_the_real_lists():
    ids = resolve_ids(
        None,
        None,
        listing({"id": 4, "name": "Leads"}, {"id": 9, "name": "Other"}),
        listing(
            {"id": 3, "name": "Paused", "list_id": 4, "is_active": False},
            {"id": 8, "name": "Welcome", "list_id": 9, "is_active": True},
        ),
    )
    assert (ids.db_id, ids.db_name) == (4, "Leads")
    assert ids.workflow == Workflow(8, 9, "Welcome", True)
    assert ids.workflow_db_id == 9


def test_ids_given_win_and_an_unlisted_workflow_is_taken_active():
    ids = resolve_ids(5, 77, listing({"id": 4}), listing({"id": 8, "list_id": 9}))
    assert ids.db_id == 5 and ids.workflow == Workflow(77)
    assert ids.workflow_db_id == 5


def test_the_mock_fixture_holds_the_token_and_the_ids_and_is_valid():
    ids = resolve_ids(
        1, 2, listing({"id": 1, "name": "Customers"}), listing({"id": 2, "list_id": 6})
    )
    document = fixture_document("s3cret-token-value", ids)
    assert shipped_schemas()["fixtures.schema"].problems(document) == []
    [account] = document["accounts"]
    assert account["name"] == ACCOUNT_NAME and account["tokens"] == ["s3cret-token-value"]
    assert [w["id"] for w in account["workflows"]] == [2]
    assert account["workflows"][0]["db_id"] == 6
    assert sorted(d["db_id"] for d in account["databases"]) == [1, 6]


# -- command-line values ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "root"),
    [
        ("https://api.example.test", "https://api.example.test"),
        ("https://api.example.test/", "https://api.example.test"),
        ("https://api.example.test/api/v1.1/", "https://api.example.test"),
        ("http://127.0.0.1:8080/prefix/api/v1.1", "http://127.0.0.1:8080/prefix"),
    ],
)
def test_the_real_url_is_taken_with_or_without_the_api_prefix(given, root):
    assert base_url(given) == root


@pytest.mark.parametrize(
    "given",
    ["ftp://x.test", "api.example.test", "https://x.test/?token=1", "https://u:p@x.test"],
)
def test_a_real_url_that_cannot_work_is_refused(given):
    with pytest.raises(UsageError, match="--real"):
        base_url(given)


def test_mock_flags_are_read_as_serve_reads_them(monkeypatch):
    monkeypatch.delenv("ALTCRAFT_MOCK_STATUS_NAMES", raising=False)
    monkeypatch.setenv("ALTCRAFT_MOCK_MAX_BODY_BYTES", "2048")
    settings = mock_settings(["--status-names=completed=success"])
    assert settings.status_names["completed"] == "success"
    assert settings.max_body_bytes == 2048
    with pytest.raises(UsageError, match="--rate"):
        mock_settings(["--rate", "nan"])
    with pytest.raises(UsageError, match="not a serve flag: --nope"):
        mock_settings(["--nope"])


# -- report ----------------------------------------------------------------------------


def test_the_redactor_masks_a_secret_wherever_it_appears():
    redact = Redactor(["s3cret-token-value"])
    assert redact("token=s3cret-token-value and 's3cret-token-value'") == "token=s3cr… and 's3cr…'"


def report_of(*comparisons: ProbeComparison) -> Report:
    return Report("https://api.example.test", "0.1.0", 1, 2, 1, False, comparisons)


def one(probe: str, real: Answer, mock: Answer) -> ProbeComparison:
    real_run, mock_run = ProbeRun(PROBE[probe], (real,)), ProbeRun(PROBE[probe], (mock,))
    return ProbeComparison(real_run, mock_run, tuple(compare_runs(real_run, mock_run, MOCK_NAMES)))


def test_the_json_report_has_one_shape_with_or_without_differences():
    skipped = ProbeRun(PROBE["import-profile"], not_sent="needs --allow-writes")
    same = report_of(
        one("databases-list", answer(OK), answer(OK)), ProbeComparison(skipped, skipped, ())
    )
    differs = report_of(
        one(
            "wrong-token",
            answer({"error": 403, "error_text": "Access denied"}, 403),
            answer({"error": 403, "error_text": "Access denied"}),
        ),
        ProbeComparison(skipped, skipped, ()),
    )

    def keys(document: object) -> object:
        if isinstance(document, dict):
            return {key: keys(value) for key, value in document.items() if key != "differences"}
        if isinstance(document, list):
            return [keys(value) for value in document]
        return None

    first, second = json_report(same), json_report(differs)
    assert keys(first) == keys(second)
    assert first["format"] == REPORT_FORMAT
    assert set(first["summary"]["by_kind"]) == {kind.value for kind in DifferenceKind}
    assert (first["exit_status"], second["exit_status"]) == (0, 1)
    assert second["probes"][0]["differences"] == [
        {"kind": "http_status", "path": "", "real": "HTTP 403", "mock": "HTTP 200"}
    ]
    assert first["probes"][1]["skipped"] == "needs --allow-writes"


def test_the_text_report_shows_both_sides_and_each_difference():
    text = text_report(
        report_of(
            one(
                "wrong-token",
                answer({"error": 403, "error_text": "Access denied"}, 403),
                answer({"error": 403, "error_text": "Access denied"}),
            )
        )
    )
    [row] = [line for line in text.splitlines() if line.startswith("wrong-token ")]
    assert row.split() == [
        "wrong-token",
        "1",
        "difference",
        *["HTTP", "403,", "error", "403", "Access", "denied"],
        *["HTTP", "200,", "error", "403", "Access", "denied"],
    ]
    assert "http_status  (answer)  real: HTTP 403  |  mock: HTTP 200" in text
    assert text.endswith("1 difference in 1 of 1 probes (http_status 1)")


def test_the_help_lists_every_probe_and_the_exit_statuses(capsys):
    from mockserver.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["drift", "--help"])
    assert stopped.value.code == 0
    text = capsys.readouterr().out
    for probe in PROBES:
        assert f"  {probe.name} " in text and probe.method in text
    assert "exit status: 0 no differences, 1 differences, 2 the check could not run" in text


def test_the_readme_documents_every_probe_and_every_difference_kind():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Check the mock against your real account", 1)[1].split("\n## ", 1)[0]
    probes = re.findall(r"^\| `([a-z-]+)` \| `", section, re.M)
    assert probes == [probe.name for probe in PROBES]
    documented = set(re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)? \| ", section, re.M))
    kinds = {name for pair in documented for name in pair if name} - set(probes)
    assert kinds == {kind.value for kind in DifferenceKind}


def test_an_unexpected_failure_shows_its_traceback_with_the_token_masked(monkeypatch, capsys):
    from mockserver.cli import _parser
    from mockserver.drift import command

    async def broken(args, real_url, settings):
        raise ValueError(f"something went wrong near {args.token}")

    monkeypatch.setattr(command, "_check", broken)
    args = _parser().parse_args(
        ["drift", "--real", "http://127.0.0.1:1", "--token", "s3cret-token-value", "--json"]
    )
    assert command.run(args) == 2
    out, err = capsys.readouterr()
    assert "s3cret-token-value" not in out + err
    assert "Traceback" in err and "ValueError: something went wrong near s3cr…" in err
    assert (
        json.loads(out)["failure"]
        == "unexpected failure: ValueError('something went wrong near s3cr…')"
    )


def test_a_short_token_is_masked_where_it_stands_alone_never_inside_names():
    redact = Redactor(["x"])
    assert redact('{"error_text": "x", "next_from_id": 1} token=x&') == (
        '{"error_text": "'
        + mask_token("x")
        + '", "next_from_id": 1} token='
        + mask_token("x")
        + "&"
    )
    assert redact.json_values({"error_text": "x", "x": ["x", 1]}) == {
        "error_text": mask_token("x"),
        "x": [mask_token("x"), 1],
    }


@pytest.mark.parametrize(
    ("extra", "failure"),
    [
        (["--timeout", "0"], "usage: argument --timeout: must be a finite number above 0, got 0"),
        (["--db-id", "abc"], "usage: argument --db-id: expected a whole number, got 'abc'"),
        (["--tokn", "SECRET-9"], "usage: unrecognized arguments (see the usage line on stderr)"),
    ],
)
def test_with_json_refused_arguments_still_print_the_json_failure(capsys, extra, failure):
    from mockserver.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["drift", "--real", "http://127.0.0.1:9", "--token", "tok-12345", "--json", *extra])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert json.loads(out) == {
        "format": REPORT_FORMAT,
        "real": "http://127.0.0.1:9",
        "failure": failure,
        "exit_status": 2,
    }
    assert "SECRET-9" not in out and "error:" in err
