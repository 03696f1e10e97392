"""The reference page's examples, sent verbatim, answered in exactly its shapes.

The bodies below are copied from the vendor page
(`shared/reference/vendor-doc-import_and_start_batch_task.txt`).
"""

from __future__ import annotations

import re

import orjson

from tests.helpers import BATCH_TASK, STATUS

EMAIL_EXAMPLE = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"workflow_id": 2,
"matching": "email",
"data": [
{
"data": {
"_fname": "Herbert",
"_lname": "Lambert",
"email": "profile5@example.com",
"phones": "+79000000000"
}
},
{
"data": {
"_fname": "Bert",
"_lname": "Lambert",
"email": "profile8@example.com",
"phones": "+79000000000"
}
}
]
}"""

CUSTOM_EXAMPLE = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"workflow_id": 233,
"matching": "custom",
"field_name": "New_field_1",
"data": [
{
"data": {
"_fname": "NUMBER15",
"_lname": "Lambert",
"email": "profile015@example.com",
"phones": "+790000000015",
"New_field_1": "00015"
}
},
{
"data": {
"_fname": "NUMBER16",
"_lname": "Lambert",
"email": "profile016@example.com",
"phones": "+790000000016",
"New_field_1": "00016"
}
}
]
}"""

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
PROFILE_ID = re.compile(r"^[0-9a-f]{24}$")


async def _post(api, method: str, raw: bytes):
    return await api.raw(
        "POST",
        f"/api/v1.1/{method}",
        data=raw,
        headers={"Content-Type": "application/json"},
        method_name=method,
    )


async def test_email_example_answers_with_a_task_id(api):
    answer = await _post(api, BATCH_TASK, EMAIL_EXAMPLE)

    assert answer.status == 200
    assert list(answer.body) == ["error", "error_text", "task_id"]
    assert answer.body["error"] == 0
    assert answer.body["error_text"] == "Successful operation"
    assert UUID4.match(answer.body["task_id"])


async def test_custom_example_answers_with_a_task_id(api):
    answer = await _post(api, BATCH_TASK, CUSTOM_EXAMPLE)

    assert answer.body["error"] == 0
    assert UUID4.match(answer.body["task_id"])


async def test_status_example_shape_after_the_email_example(api):
    task_id = (await _post(api, BATCH_TASK, EMAIL_EXAMPLE)).body["task_id"]
    status_body = orjson.dumps({"token": "abcdefghijklmnqrstuvwxyz", "task_id": task_id})

    first = await _post(api, STATUS, status_body)
    second = await _post(api, STATUS, status_body)

    assert first.body == {
        "data": {"status": "processing", "progress": 50, "result": None},
        "error": 0,
        "error_text": "Successful operation",
    }
    assert list(second.body) == ["data", "error", "error_text"]
    assert list(second.body["data"]) == ["status", "progress", "result"]
    data = second.body["data"]
    assert data["status"] == "completed"
    assert data["progress"] == 100
    assert data["result"]["error"] == 0
    assert data["result"]["error_text"] == ""
    results = data["result"]["result"]
    assert len(results) == 2
    assert all(list(entry) == ["profile_id"] for entry in results)
    assert all(PROFILE_ID.match(entry["profile_id"]) for entry in results)
    assert results[0]["profile_id"] != results[1]["profile_id"]


async def test_custom_example_stores_profiles_with_its_fields(api):
    task_id = (await _post(api, BATCH_TASK, CUSTOM_EXAMPLE)).body["task_id"]
    results = (await api.run_to_end(task_id))["result"]["result"]

    stored = api.state.store.profile(results[0]["profile_id"])
    assert stored["data"]["New_field_1"] == "00015"
    assert stored["data"]["email"] == "profile015@example.com"
    assert stored["data"]["phones"] == ["+790000000015"]
    assert stored["data"]["_fname"] == "NUMBER15"


async def test_body_too_large_example_is_answered_verbatim(make_api):
    api = await make_api(max_body_bytes=64)

    answer = await _post(api, BATCH_TASK, EMAIL_EXAMPLE)

    assert answer.status == 200
    assert answer.body == {
        "error": 400,
        "error_debug": "http: request body too large",
        "error_text": "Invalid request",
    }
    assert list(answer.body) == ["error", "error_debug", "error_text"]
