#!/usr/bin/env bash
# Before the tests: the build (dist/, the CLI the tests start) and the type check of the tests,
# side by side on two cores: neither needs the other's output.
set -euo pipefail
npm run build &
build=$!
tsc -p tsconfig.test.json
wait "$build"
