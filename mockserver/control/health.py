"""`GET /_mock/health`: ready, version, uptime, counts."""

from __future__ import annotations

import os

from aiohttp import web

from mockserver import package_version
from mockserver.control.clock import clock_view
from mockserver.control.routes import ControlRoute
from mockserver.http.answers import json_response
from mockserver.keys import BACKEND


async def health(request: web.Request) -> web.Response:
    backend = request.app[BACKEND]
    settings = backend.settings
    write_error = backend.store.write_error
    return json_response(
        {
            # A store that cannot be written (no space left) fails the health
            # check, so a container turns unhealthy; it recovers by itself.
            "status": "ok" if write_error is None else "failing",
            "store": {"writable": write_error is None, "error": write_error},
            "version": package_version(),
            "uptime_seconds": round(backend.uptime(), 3),
            "clock": clock_view(backend.clock),
            "pid": os.getpid(),
            "counts": {
                "accounts": len(backend.accounts.catalog.accounts),
                "profiles": backend.store.count_profiles(),
                "tasks": backend.store.count_tasks(),
                "active_tasks": backend.engine.active_count(),
                "engagements": backend.store.count_engagements(),
            },
            "settings": {
                "mode": settings.mode.value,
                "progression": settings.progression.value,
                "steps": settings.steps,
                "rate": settings.rate,
                "http_status": settings.http_status.value,
                "seed": settings.seed,
                "store": "memory" if settings.in_memory else settings.db,
                "max_body_bytes": settings.max_body_bytes,
                "task_id_format": settings.task_id_format.value,
                "clock": settings.clock.value,
                "latency": [delay.to_public() for delay in settings.latency],
                "faults_file": settings.faults,
                "startup_faults": backend.faults.startup_count,
            },
        }
    )


ROUTES = (
    ControlRoute(
        "GET",
        "/_mock/health",
        health,
        "Readiness, version, uptime, counts",
        response_schema="control/health.response",
    ),
)
