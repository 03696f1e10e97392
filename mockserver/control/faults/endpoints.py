"""`POST/GET/DELETE /_mock/faults`, `GET/DELETE /_mock/faults/{id}`."""

from __future__ import annotations

from aiohttp import web

from mockserver.control.common import read_control_json
from mockserver.control.routes import ControlRoute
from mockserver.errors import MethodNotFound
from mockserver.http.answers import json_response
from mockserver.keys import BACKEND

NOT_FOUND_TEXT = "Fault not found"


async def add_fault(request: web.Request) -> web.Response:
    body = await read_control_json(request, "control/fault")
    rule = request.app[BACKEND].faults.add(body)
    return json_response(rule.to_public(), status=201)


async def list_faults(request: web.Request) -> web.Response:
    rules = [rule.to_public() for rule in request.app[BACKEND].faults.rules()]
    return json_response({"faults": rules, "total": len(rules)})


async def get_fault(request: web.Request) -> web.Response:
    rule = request.app[BACKEND].faults.get(request.match_info["fault_id"])
    if rule is None:
        raise MethodNotFound(
            f"fault_id: no fault {request.match_info['fault_id']!r}", text=NOT_FOUND_TEXT
        )
    return json_response(rule.to_public())


async def delete_faults(request: web.Request) -> web.Response:
    request.app[BACKEND].faults.clear()
    return json_response({"status": "ok"})


async def delete_fault(request: web.Request) -> web.Response:
    fault_id = request.match_info["fault_id"]
    if not request.app[BACKEND].faults.remove(fault_id):
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
