#!/bin/sh
# Installs promtool, which the alert tests (alerts/rules.int.test.ts) run as `promtool test rules`, into the
# git-ignored .cache/tools/bin (MARKET_TOOLS_DIR moves it), only when missing or when its pin changed. Built from the Go module proxy
# (the Prometheus repository's Go module versions are v0.<minor>.<patch> for Prometheus 3.<minor>.<patch>).
# Measured here (2 cores shared with other builds, load ~38): without the build tag below the build had not
# finished after 73 min; with it, 4 min with the modules already downloaded; 0 s once installed.
# Set PROMETHEUS_TOOLS_SKIP=1 to skip (the alert tests then fail, saying what is missing).
set -eu
[ "${PROMETHEUS_TOOLS_SKIP:-0}" = "1" ] && exit 0

root=$(cd "$(dirname "$0")/../.." && pwd)
tools="${MARKET_TOOLS_DIR:-$root/.cache/tools}"
bin="$tools/bin"
mkdir -p "$bin"

# Pin: Prometheus 3.16.0 (Go module v0.316.0).
PROMTOOL_MODULE_VERSION=v0.316.0

if [ ! -x "$bin/promtool" ] || [ "$(cat "$bin/.promtool-version" 2>/dev/null)" != "$PROMTOOL_MODULE_VERSION" ]; then
  t=$(date +%s)
  echo "[prometheus-tools] go install promtool@$PROMTOOL_MODULE_VERSION"
  # remove_all_sd: Prometheus' build tag that leaves out every service-discovery plugin (the cloud SDKs are
  # most of the build time); `promtool test rules` needs none of them.
  GOBIN="$bin" GOFLAGS=-mod=mod go install -tags remove_all_sd -ldflags='-s -w' \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_MODULE_VERSION"
  echo "$PROMTOOL_MODULE_VERSION" >"$bin/.promtool-version"
  echo "[prometheus-tools] promtool: $(( $(date +%s) - t ))s"
fi
