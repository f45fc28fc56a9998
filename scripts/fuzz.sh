#!/usr/bin/env bash
# Longer run of the property tests (proptest) of every crate: the parsers of outside input
# (photo probe, container numbers, endpoint response, model manifest, YOLO labels, data.yaml,
# Roboflow entry paths and imports, Ground Truth manifests, SigV4 headers). `cargo test` (the
# README's test command, scripts/test.sh) runs the same properties with their default case
# counts; this script runs each with CASES cases. See docs/testing.md.
#
#   scripts/fuzz.sh                  # 20000 cases per property
#   scripts/fuzz.sh 100000           # more
#   scripts/fuzz.sh 5000 --release   # extra arguments go to `cargo test`
#   PROPTEST_CASES=50000 scripts/fuzz.sh
#
# Idempotent: it writes nothing but build output under target/ (and, when a property fails,
# proptest's seed under <crate>/proptest-regressions/, replayed first by every later run).
set -euo pipefail
cd "$(dirname "$0")/.."

cases=${PROPTEST_CASES:-20000}
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  cases=$1
  shift
fi
if [ "$cases" -lt 1 ]; then
  echo "fuzz.sh: CASES must be at least 1" >&2
  exit 2
fi

printf '==> property tests, %s cases each\n' "$cases" >&2
# Properties live in `mod properties` of the crates' unit tests (--lib); the filter keeps
# every other test out. PROPTEST_CASES overrides each property's default case count.
PROPTEST_CASES=$cases cargo test --workspace --lib --locked "$@" -- properties
