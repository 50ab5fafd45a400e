#!/bin/sh
# Installs Debian's chromium (/usr/bin/chromium) for the viewer's browser test (dev/viewer/viewer.e2e.test.ts,
# driven by playwright-core). Idempotent: does nothing when it is already there.
# Set CHROMIUM_SKIP=1 to skip (the browser test then fails and says how to install it).
set -eu
[ "${CHROMIUM_SKIP:-0}" = "1" ] && exit 0
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
log() { echo "[chromium] $*"; }
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    log "not root and no sudo: run 'apt-get update && apt-get install -y chromium' as root" >&2
    exit 1
  fi
else
  SUDO=
fi
log "apt-get install chromium"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x /usr/bin/chromium ] || { log "chromium was installed but /usr/bin/chromium is missing" >&2; exit 1; }
log "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
