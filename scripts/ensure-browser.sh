#!/bin/sh
# Headless Chromium for the dashboard tests (tests/ui): Debian's `chromium`,
# installed when it is missing and this machine can install it (root, apt-get).
# Never fails: without a browser the dashboard tests skip and say why.
# Quiet when there is nothing to do, so `make test` stays quiet too.

for name in chromium chromium-browser google-chrome; do
    command -v "$name" >/dev/null 2>&1 && exit 0
done
if [ -n "$ALTCRAFT_MOCK_CHROMIUM" ] && [ -x "$ALTCRAFT_MOCK_CHROMIUM" ]; then
    exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: no Chromium, and installing one needs root and apt-get: the dashboard tests (tests/ui) will skip" >&2
    exit 0
fi

log="${TMPDIR:-/tmp}/altcraft-mock-chromium-install.log"
echo "installing Debian's chromium for the dashboard tests (log: $log)" >&2
if { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; } >"$log" 2>&1; then
    exit 0
fi
echo "note: installing chromium failed (see $log): the dashboard tests (tests/ui) will skip" >&2
exit 0
