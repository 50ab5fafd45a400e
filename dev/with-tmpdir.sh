#!/bin/sh
# Usage: sh dev/with-tmpdir.sh <prefix> <command> [args...]
# Runs the command with TMPDIR set to a new directory and removes that directory when the command ends (also
# on SIGINT/SIGTERM), whatever was left in it. `npm test` runs vitest under it: test fixtures, validators'
# scratch (ansible, terraform, promtool) and browser profiles go there, and no run leaves them in /tmp.
set -eu
prefix=$1
shift
dir=$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
status=0
TMPDIR=$dir "$@" || status=$?
exit "$status"
