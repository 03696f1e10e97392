"""`wrk` (Debian's package, C, one thread) drives the polling load of `make bench`.

A Python client saturates near 4,500 requests/s on a 2-core machine, which is
its own ceiling, not the server's: both servers then look alike. wrk costs a
fraction of that per request, so what it measures is the server. `post.lua`
sends every request as a POST of the body in the file named by `WRK_BODY`.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
POST_SCRIPT = HERE / "post.lua"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_LATENCY = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)


@dataclass(frozen=True, slots=True)
class Load:
    """One wrk window: throughput and latency percentiles (from wrk's histogram)."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers and socket errors

    def to_doc(self) -> dict[str, float]:
        return {
            "rps": self.rps,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "requests": self.requests,
            "errors": self.errors,
        }


def ensure_wrk() -> str | None:
    """wrk's path; installed from Debian when missing and this machine can (root,
    apt-get), as `make test` does for chromium. None: the Python client is used."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        subprocess.run(install, env=env, capture_output=True, check=False)
    return shutil.which("wrk")


def parse(output: str) -> Load:
    """wrk's report (`--latency`) as a Load."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    if rps is None or requests is None:
        raise RuntimeError(f"unexpected wrk report: {output!r}")
    percentiles = {int(p): float(v) * _UNITS[u] for p, v, u in _LATENCY.findall(output)}
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors:([^\n]*)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in re.findall(r"\d+", sockets.group(1))) if sockets else 0
    return Load(
        float(rps.group(1)),
        percentiles.get(50, 0.0),
        percentiles.get(99, 0.0),
        int(requests.group(1)),
        errors,
    )


async def load(wrk: str, url: str, body: bytes, connections: int, seconds: float) -> Load:
    """POST `body` to `url` over `connections` keep-alive connections for `seconds`."""
    with tempfile.NamedTemporaryFile(suffix=".json") as handle:
        handle.write(body)
        handle.flush()
        process = await asyncio.create_subprocess_exec(
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(POST_SCRIPT),
            url,
            env={**os.environ, "WRK_BODY": handle.name},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed: {err.decode(errors='replace')}")
    return parse(out.decode())
