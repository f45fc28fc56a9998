#!/usr/bin/env bash
# The binding tests: builds the omni-ffi library and the pinned bindgen (two cargo
# invocations, so uniffi's `cli` feature stays out of the library), generates the Python,
# Kotlin (JVM) and Swift bindings in library mode, then runs
#   - pytest over the generated Python (bindings/tests/python),
#   - the Kotlin suite on the JVM (bindings/tests/kotlin; kotlinc from the npm package
#     kotlin-compiler, JNA from Debian's libjna-java),
#   - a C-compiler parse of the generated Swift header (no Swift compiler exists here),
#   - the phone shells' static checks (scripts/check-mobile.sh) and their test.
# Each suite starts the servers it talks to (omni-binding-fixtures: the SageMaker-compatible
# endpoint and a signed model manifest on 127.0.0.1) and stops them.
# Installs what it needs idempotently. Called by scripts/test.sh; needs the test venv (.venv,
# made there, or OMNI_TEST_PYTHON): without it the Python suites fail, unless
# OMNI_SKIP_PYTHON_TESTS=1 says to skip them (docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
log() { printf '==> %s\n' "$*" >&2; }

python="${OMNI_TEST_PYTHON:-.venv/bin/python}"
run_python_suites=1
if [ ! -x "$python" ]; then
  case "${OMNI_SKIP_PYTHON_TESTS:-0}" in
    ''|0)
      echo "bindings/tests/run.sh: no test venv ($python): bash scripts/test.sh makes it, or set OMNI_SKIP_PYTHON_TESTS=1 to skip the Python suites" >&2
      exit 1 ;;
    *)
      log "skipped: the Python binding tests and the phone shells' checks' test (no test venv at $python; OMNI_SKIP_PYTHON_TESTS is set)"
      run_python_suites=0 ;;
  esac
fi

out=target/bindings-test
rm -rf "$out" && mkdir -p "$out"

log "building uniffi-bindgen, then libomni_ffi and the test servers"
# One cargo invocation, so that the three share one feature resolution: built one by one, each
# resolved its own features and recompiled the same dependencies again (114 units, tract-core
# among them, in the run of 2026-12-06; 47 in one invocation). The test library thus carries
# uniffi's `cli` feature and the core's `bundled-model` (the fixtures' demo model), which
# docs/bindings.md keeps out of an app's library by building it apart; the exported API, all
# the tests read, is the same, and every test opens the core with an explicit model file. test-probes adds `debug_panic` (a
# panic must reach the app as an exception).
cargo build --locked -p omni-ffi -p omni-e2e --features omni-ffi/bindgen,omni-ffi/test-probes \
  --lib --bin uniffi-bindgen --bin omni-binding-fixtures
lib=target/debug/libomni_ffi.so

log "generating bindings (library mode)"
target/debug/uniffi-bindgen generate --library "$lib" --no-format \
  --language python --language swift --config bindings/uniffi-bindgen.toml --out-dir "$out/generated"
target/debug/uniffi-bindgen generate --library "$lib" --no-format \
  --language kotlin --config bindings/tests/kotlin/uniffi-jvm.toml --out-dir "$out/kotlin-src"
cp "$lib" "$out/generated/"

export OMNI_PY_BINDINGS="$PWD/$out/generated"
export OMNI_BINDING_FIXTURES="$PWD/target/debug/omni-binding-fixtures"
export OMNI_BUNDLED_MODEL="$PWD/core/models/edge-model.onnx"

if [ "$run_python_suites" = 1 ]; then
  log "Python bindings: pytest"
  "$python" -m pytest -q -p no:cacheprovider bindings/tests/python
fi

log "Swift: the generated header parses as C"
# gcc lacks clang's nullability qualifiers (Swift's clang has them): defined away here.
# One header per component: omni_ffi and the crates whose own types cross (omni_core,
# omni_protocol).
printf '#include "%s"\n' omni_protocolFFI.h omni_coreFFI.h omni_ffiFFI.h > "$out/generated/header_check.c"
cc -fsyntax-only -Wall -Werror -D_Nonnull= -D_Nullable= -D_Null_unspecified= \
  -I "$out/generated" "$out/generated/header_check.c"
test -s "$out/generated/OmniFFI.swift" && test -s "$out/generated/omni_ffiFFI.modulemap"

log "phone shells: static checks (android/, ios/, their build scripts) and the checks' test"
bash scripts/check-mobile.sh . "$out/generated/OmniFFI.swift"
if [ "$run_python_suites" = 1 ]; then
  "$python" -m pytest -q -p no:cacheprovider scripts/test_check_mobile.py
fi

log "Kotlin bindings on the JVM"
bash bindings/tests/kotlin/run.sh "$out"
