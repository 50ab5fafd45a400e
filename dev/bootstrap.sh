#!/bin/sh
# Entry point behind `npm start`, `npm test` and `npm run bench`: works on a fresh clone because it needs
# nothing but Node and npm to begin with, installs the npm packages of the lockfile when they are missing or
# stale, and then hands over to the TypeScript entry points.
set -eu
cd "$(dirname "$0")/.."

stamp=.cache/npm-installed.lock
if [ ! -d node_modules ] || ! cmp -s package-lock.json "$stamp" 2>/dev/null; then
  echo "[bootstrap] installing npm packages from package-lock.json ..."
  # `npm install` with the committed lock, not `npm ci`: npm 11 leaves optional platform packages that the
  # registry here does not serve (biome's android/darwin/win32 builds) out of the lock, and `npm ci` then
  # refuses the lock as out of sync. The lock still pins every version; a test checks it is left unchanged.
  npm install --no-audit --no-fund --loglevel=error
  mkdir -p .cache && cp package-lock.json "$stamp"
fi

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  start) exec node --import tsx dev/start.ts "$@" ;;
  test)
    sh dev/setup/ensure-tools.sh
    npm run --silent check
    mkdir -p test-artifacts
    status=0
    # One TMPDIR per run, removed at its end: tests, validators and browsers leave nothing in /tmp.
    sh dev/with-tmpdir.sh market-test \
      npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@" || status=$?
    node --import tsx dev/test-summary.ts test-artifacts/vitest.json
    exit "$status"
    ;;
  bench) exec node --import tsx bench/run.ts "$@" ;;
  *)
    echo "usage: sh dev/bootstrap.sh start|test|bench [args]" >&2
    exit 2
    ;;
esac
