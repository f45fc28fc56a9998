#!/usr/bin/env bash
# FFI round trip from Python and Kotlin (docs/benchmarks.md, "Bindings"), on the optimised
# library: the mobile profile, unstripped so the bindgen can read it. Needs .venv and the
# Kotlin compiler that bindings/tests/run.sh installs.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/bindings-bench
rm -rf "$out" && mkdir -p "$out"
cargo build --locked -q -p omni-ffi --features bindgen --bin uniffi-bindgen
CARGO_PROFILE_MOBILE_FFI_STRIP=none cargo build --locked -q -p omni-ffi --lib --profile mobile-ffi
lib=target/mobile-ffi/libomni_ffi.so
target/debug/uniffi-bindgen generate --library "$lib" --no-format --language python \
  --config bindings/uniffi-bindgen.toml --out-dir "$out/generated"
target/debug/uniffi-bindgen generate --library "$lib" --no-format --language kotlin \
  --config bindings/tests/kotlin/uniffi-jvm.toml --out-dir "$out/kotlin-src"
cp "$lib" "$out/generated/"
export OMNI_PY_BINDINGS="$PWD/$out/generated" OMNI_BUNDLED_MODEL="$PWD/core/models/edge-model.onnx"
kotlin_home="$PWD/.tools/kotlin-2.4.20/node_modules/kotlin-compiler"
classpath="/usr/share/java/jna.jar:$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
"$kotlin_home/bin/kotlinc" -nowarn -cp "$classpath" "$(find "$out/kotlin-src" -name '*.kt')" \
  bindings/benches/FfiRoundTrip.kt -d "$out/bench.jar"
echo "| caller | call | median µs per call | worst batch µs per call |"
echo "| --- | --- | --- | --- |"
.venv/bin/python bindings/benches/ffi_roundtrip.py
java -Djna.library.path="$PWD/$out/generated" \
  -cp "$out/bench.jar:$classpath:$kotlin_home/lib/kotlin-stdlib.jar" FfiRoundTripKt
