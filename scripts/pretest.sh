#!/usr/bin/env bash
# Before the tests: the build (dist/, the CLI the tests start) and the type check of the tests,
# side by side on two cores: neither needs the other's output. Either failing fails the step,
# and the build is waited for in any case (never left writing dist/ after the step has ended).
set -uo pipefail
npm run build &
build=$!
tsc -p tsconfig.test.json
checked=$?
wait "$build"
built=$?
exit $(( checked != 0 ? checked : built ))
