#!/bin/sh
# Installs the tools that validate terraform/ and ansible/ offline, each only when missing, into the
# git-ignored .cache/tools/ (bin/ + a Python venv; MARKET_TOOLS_DIR moves it, e.g. to share it between clones):
#   tofu          OpenTofu CLI built from the Go module proxy (fmt -check, variable validation)
#   tflint        Terraform linter (bundled terraform ruleset)
#   venv          ansible-core, ansible (collection bundle; Galaxy is unreachable), ansible-lint, yamllint,
#                 python-hcl2 (HCL -> JSON for the policy test)
#   haproxy, kmod Debian packages (haproxy -c; kmod because the node-preparation check run needs modprobe
#                 like any Debian cloud image has)
# Set INFRA_TOOLS_SKIP=1 to skip everything (e.g. a machine that only runs the TypeScript tests).
set -eu
[ "${INFRA_TOOLS_SKIP:-0}" = "1" ] && exit 0

root=$(cd "$(dirname "$0")/../.." && pwd)
tools="${MARKET_TOOLS_DIR:-$root/.cache/tools}"
bin="$tools/bin"
venv="$tools/venv"
mkdir -p "$bin"

# Pins. OpenTofu's own go.mod replaces hashicorp/hcl with its fork; a module that requires OpenTofu must
# repeat that replace (and its godebug settings), because `go install pkg@version` refuses replaces.
TOFU_VERSION=v1.12.6
TOFU_GO=1.26.6
TOFU_HCL_REPLACE='github.com/hashicorp/hcl/v2 v2.20.1 => github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828'
TFLINT_VERSION=v0.64.0
PY_REQUIREMENTS="ansible-core==2.19.14 ansible==12.3.0 ansible-lint==26.10.1 yamllint==1.38.0 python-hcl2==8.1.4"

now() { date +%s; }
log() { echo "[infra-tools] $*"; }
start_all=$(now)

# --- Debian packages -------------------------------------------------------------------------------
missing_debs=""
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing_debs="$missing_debs haproxy"
command -v modprobe >/dev/null 2>&1 || [ -x /usr/sbin/modprobe ] || [ -x /sbin/modprobe ] || missing_debs="$missing_debs kmod"
if [ -n "$missing_debs" ]; then
  t=$(now)
  log "apt-get install$missing_debs"
  if [ "$(id -u)" -ne 0 ]; then
    log "not root: install$missing_debs yourself (sudo apt-get install$missing_debs)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing_debs >/dev/null
  log "debian packages: $(( $(now) - t ))s"
fi

# --- Python venv -----------------------------------------------------------------------------------
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/ansible-playbook" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$PY_REQUIREMENTS" ]; then
  t=$(now)
  log "python venv: $PY_REQUIREMENTS"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # word splitting of the requirement list is intended
  "$venv/bin/pip" install -q --disable-pip-version-check $PY_REQUIREMENTS
  echo "$PY_REQUIREMENTS" >"$stamp"
  log "python venv: $(( $(now) - t ))s"
fi

# --- Go tools --------------------------------------------------------------------------------------
if ! "$bin/tflint" --version 2>/dev/null | grep -q "${TFLINT_VERSION#v}"; then
  t=$(now)
  log "go install tflint@$TFLINT_VERSION"
  GOBIN="$bin" GOFLAGS="-trimpath -buildvcs=false" go install -ldflags='-s -w' \
    "github.com/terraform-linters/tflint@$TFLINT_VERSION" >"$tools/tflint-build.log" 2>&1 ||
    { tail -20 "$tools/tflint-build.log" >&2; exit 1; }
  log "tflint: $(( $(now) - t ))s"
fi

if ! TF_CLI_CONFIG_FILE=/dev/null "$bin/tofu" version 2>/dev/null | grep -q "${TOFU_VERSION#v}"; then
  t=$(now)
  log "go build tofu $TOFU_VERSION"
  src="$tools/src/tofu"
  mkdir -p "$src"
  cat >"$src/go.mod" <<EOF
module local/tools/tofu

go $TOFU_GO

godebug (
	tlsmlkem=0
	winsymlink=0
)

require github.com/opentofu/opentofu $TOFU_VERSION

replace $TOFU_HCL_REPLACE
EOF
  cat >"$src/tools.go" <<'EOF'
//go:build tools

package tools

import _ "github.com/opentofu/opentofu/cmd/tofu"
EOF
  (cd "$src" && GOFLAGS="-mod=mod -buildvcs=false" go mod tidy &&
    GOFLAGS="-mod=mod -trimpath -buildvcs=false" go build -ldflags='-s -w' -o "$bin/tofu" github.com/opentofu/opentofu/cmd/tofu) \
    >"$tools/tofu-build.log" 2>&1 || { tail -20 "$tools/tofu-build.log" >&2; exit 1; }
  log "tofu: $(( $(now) - t ))s"
fi

log "ready in $(( $(now) - start_all ))s ($bin, $venv)"
