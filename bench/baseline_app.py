"""The benchmark's baseline: a bare aiohttp app, no middleware, one handler that
reads the body, parses it with orjson and answers a fixed envelope. Every
altcraft-mock figure is reported as a ratio against this, measured in the same run."""

from __future__ import annotations

import sys

import orjson
from aiohttp import web

ANSWER = orjson.dumps(
    {
        "error": 0,
        "error_text": "Successful operation",
        "task_id": "00000000-0000-4000-8000-000000000000",
    }
)


async def handle(request: web.Request) -> web.Response:
    orjson.loads(await request.read())
    return web.Response(body=ANSWER, content_type="application/json")


def main() -> None:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("POST", "/{tail:.*}", handle)

    async def announce(_app: web.Application) -> None:
        print(f"listening on http://127.0.0.1:{port}", flush=True)

    port = int(sys.argv[1])
    app.on_startup.append(announce)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
