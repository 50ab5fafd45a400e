#!/bin/sh
# Fetches the Kafka and Cassandra jars of the local runtime (dev/runtime) into .cache/runtime/jars, once:
# quick when the cache is complete. Missing Java 17 or Maven fail here, in one line that says what to install,
# before the test run starts.
set -eu
cd "$(dirname "$0")/../.."
exec node --import tsx dev/runtime/cli.ts fetch
