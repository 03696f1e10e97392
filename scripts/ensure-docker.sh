#!/bin/sh
# What `make image-test` needs from the machine: a Docker engine (`dockerd` and a
# client), `debootstrap` (the stand-in base when python:3.11-slim cannot be
# pulled) and Compose (`docker compose` v2 or Debian's `docker-compose` v1).
# Debian's docker.io, debootstrap and docker-compose are installed when missing
# and this machine can install them (root, apt-get). Never fails: without a
# daemon the image tests (tests/image) skip and say why. Starting the daemon,
# and stopping the one they started, is the tests' own business
# (tests/image/engine.py), so `pytest tests/image` works without make too.

missing=""
command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
command -v docker >/dev/null 2>&1 || missing="$missing docker.io"
command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    missing="$missing docker-compose"
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: missing$missing, and installing needs root and apt-get: image tests may skip" >&2
    exit 0
fi

# One name once, in a stable order.
packages=$(printf '%s\n' $missing | sort -u | tr '\n' ' ')
log="${TMPDIR:-/tmp}/altcraft-mock-docker-install.log"
echo "installing Debian's $packages for the image tests (log: $log)" >&2
if { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $packages; } >"$log" 2>&1; then
    exit 0
fi
echo "note: installing $packages failed (see $log): image tests may skip" >&2
exit 0
