#!/bin/sh
# Installs cqlsh, pinned, from PyPI into a venv under the tools dir (.cache/tools/cqlsh-venv; MARKET_TOOLS_DIR
# moves it). The Cassandra scripts of knative/base/cassandra run cqlsh inside the cassandra:5.0.8 image, whose
# cqlsh is the one of the 5.0 line; the PyPI package 6.2.x is that cqlsh, released on its own. The scripts
# test (knative/base/cassandra/scripts.int.test.ts) runs the scripts with this one on PATH.
# Set CQLSH_SKIP=1 to skip (the scripts test then fails, saying cqlsh is missing).
set -eu
[ "${CQLSH_SKIP:-0}" = "1" ] && exit 0
CQLSH_VERSION=6.2.2
root=$(cd "$(dirname "$0")/../.." && pwd)
tools="${MARKET_TOOLS_DIR:-$root/.cache/tools}"
venv="$tools/cqlsh-venv"
stamp="$venv/.version"
[ -x "$venv/bin/cqlsh" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$CQLSH_VERSION" ] && exit 0
t=$(date +%s)
echo "[cqlsh] cqlsh==$CQLSH_VERSION into $venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "cqlsh==$CQLSH_VERSION"
echo "$CQLSH_VERSION" >"$stamp"
echo "[cqlsh] $(( $(date +%s) - t ))s"
