#!/usr/bin/env bash
# Compiles the generated Kotlin bindings and BindingsTest.kt with kotlinc (npm package
# kotlin-compiler, installed into .tools/ once) against JNA (Debian's libjna-java) and
# kotlinx-coroutines (shipped with the compiler), and runs the suite on the JVM.
# Usage: run.sh OUT_DIR (with kotlin-src/ and generated/libomni_ffi.so, from ../run.sh).
set -euo pipefail
cd "$(dirname "$0")/../../.."
out="$1"
log() { printf '==> %s\n' "$*" >&2; }

kotlin_version=2.4.20
tools=.tools/kotlin-$kotlin_version
if [ ! -x "$tools/node_modules/kotlin-compiler/bin/kotlinc" ]; then
  log "installing kotlin-compiler $kotlin_version (npm) into $tools"
  mkdir -p "$tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" "kotlin-compiler@$kotlin_version"
fi
if [ ! -f /usr/share/java/jna.jar ]; then
  log "installing libjna-java"
  apt-get update -qq && apt-get install -y -qq libjna-java >/dev/null
fi
kotlin_home="$PWD/$tools/node_modules/kotlin-compiler"
coroutines="$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
classpath="/usr/share/java/jna.jar:$coroutines"

log "kotlinc (generated bindings + BindingsTest.kt)"
"$kotlin_home/bin/kotlinc" -nowarn -cp "$classpath" \
  "$(find "$out/kotlin-src" -name '*.kt')" bindings/tests/kotlin/BindingsTest.kt \
  -d "$out/kotlin-tests.jar"
log "running the Kotlin suite"
java -Djna.library.path="$PWD/$out/generated" \
  -cp "$out/kotlin-tests.jar:$classpath:$kotlin_home/lib/kotlin-stdlib.jar" BindingsTestKt
