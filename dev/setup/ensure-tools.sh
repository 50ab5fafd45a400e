#!/bin/sh
# Installs the non-npm tools the test suite drives (validators, browsers, linters). Each concern has its own
# dev/setup/install-*.sh, idempotent and quick when everything is already present.
set -eu
cd "$(dirname "$0")"
for script in install-*.sh; do
  [ -e "$script" ] || continue
  sh "./$script"
done
