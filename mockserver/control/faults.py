"""`POST/GET/DELETE /_mock/faults`, `GET/DELETE /_mock/faults/{id}`."""

from __future__ import annotations

from aiohttp import web

from mockserver.app_keys import STATE
from mockserver.control.common import read_control_json
from mockserver.control.routes import ControlRoute
from mockserver.domain.queries import check_pattern
from mockserver.domain.values import ValueProblem
from mockserver.envelope import json_response
from mockserver.errors import InvalidRequest, MethodNotFound

NOT_FOUND_TEXT = "Fault not found"


async def add_fault(request: web.Request) -> web.Response:
    body = await read_control_json(request, "control/fault")
    if "pattern" in body:
        # The guard `custom_request`'s `$regex` has: no pattern that can backtrack
        # without end (`(a+)+`), none over 512 characters, none that does not compile.
        try:
            check_pattern(body["pattern"], "pattern")
        except ValueProblem as problem:
            raise InvalidRequest(str(problem)) from None
    rule = request.app[STATE].faults.add(body)
    return json_response(rule.to_public(), status=201)


async def list_faults(request: web.Request) -> web.Response:
    rules = [rule.to_public() for rule in request.app[STATE].faults.rules()]
    return json_response({"faults": rules, "total": len(rules)})


async def get_fault(request: web.Request) -> web.Response:
    rule = request.app[STATE].faults.get(request.match_info["fault_id"])
    if rule is None:
        raise MethodNotFound(
            f"fault_id: no fault {request.match_info['fault_id']!r}", text=NOT_FOUND_TEXT
        )
    return json_response(rule.to_public())


async def delete_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults.clear()
    return json_response({"status": "ok"})


async def delete_fault(request: web.Request) -> web.Response:
    fault_id = request.match_info["fault_id"]
    if not request.app[STATE].faults.remove(fault_id):
        raise MethodNotFound(f"fault_id: no fault {fault_id!r}", text=NOT_FOUND_TEXT)
    return json_response({"status": "ok"})


ROUTES = (
    ControlRoute(
        "POST",
        "/_mock/faults",
        add_fault,
        "Add a fault rule",
        "control/fault",
        "control/fault.response",
        status=201,
    ),
    ControlRoute(
        "GET",
        "/_mock/faults",
        list_faults,
        "Fault rules with their counters",
        response_schema="control/faults.response",
    ),
    ControlRoute(
        "DELETE",
        "/_mock/faults",
        delete_faults,
        "Remove every fault rule",
        response_schema="control/ok.response",
    ),
    ControlRoute(
        "GET",
        "/_mock/faults/{fault_id}",
        get_fault,
        "One fault rule",
        response_schema="control/fault.response",
    ),
    ControlRoute(
        "DELETE",
        "/_mock/faults/{fault_id}",
        delete_fault,
        "Remove one fault rule",
        response_schema="control/ok.response",
    ),
)
