#!/usr/bin/env bash
# The mobile profile measured, not assumed (docs/benchmarks.md, "Bindings"): for opt-level
# z and s of `mobile-ffi`, the stripped x86-64 cdylib's size without and with the demo model
# compiled in, and edge inference through OmniCore (benches/edge_profile.rs); then the
# release profile's inference for reference. Each build is a fat-LTO build: ~10 min apiece on
# 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${OMNI_BENCH_RUNS:-30}
sizes=()
rows=()
for level in z s; do
  export CARGO_PROFILE_MOBILE_FFI_OPT_LEVEL=$level
  cargo build --locked -q -p omni-ffi --lib --profile mobile-ffi
  without=$(stat -c %s target/mobile-ffi/libomni_ffi.so)
  cargo build --locked -q -p omni-ffi --lib --profile mobile-ffi --features bundled-model
  with=$(stat -c %s target/mobile-ffi/libomni_ffi.so)
  sizes+=("| mobile-ffi, opt-level $level | $(awk "BEGIN{printf \"%.2f\", $without/1048576}") | $(awk "BEGIN{printf \"%.2f\", $with/1048576}") |")
  rows+=("$(OMNI_BENCH_RUNS=$runs OMNI_BENCH_PROFILE_LABEL="mobile-ffi, opt-level $level" \
    cargo bench --locked -q -p omni-ffi --bench edge_profile --profile mobile-ffi | tail -1)")
done
unset CARGO_PROFILE_MOBILE_FFI_OPT_LEVEL
rows+=("$(OMNI_BENCH_RUNS=$runs OMNI_BENCH_PROFILE_LABEL="release (opt-level 3, thin LTO)" \
  cargo bench --locked -q -p omni-ffi --bench edge_profile --profile release | tail -1)")
echo "| library (stripped cdylib, x86-64) | MiB without the model | MiB with the demo model |"
echo "| --- | --- | --- |"
printf '%s\n' "${sizes[@]}"
echo
echo "| profile | open ms | edge_verdict median ms | p95 ms | stats() median µs | runs |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
