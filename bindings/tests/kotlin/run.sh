#!/usr/bin/env bash
# Compiles the generated Kotlin bindings, the Android sample's plain-Kotlin files (no Android
# imports: Describe.kt, CoreCalls.kt), BindingsTest.kt and SampleTest.kt with kotlinc (npm
# package kotlin-compiler, installed into .tools/ once) against JNA (Debian's libjna-java) and
# kotlinx-coroutines (shipped with the compiler), and runs the suite on the JVM.
# Usage: run.sh OUT_DIR (with kotlin-src/ and generated/libomni_ffi.so, from ../run.sh).
#
# Versions: kotlinc 2.4.20 is the compiler android/build.gradle.kts selects for the app. JNA is
# Debian's (bookworm: 5.13.0), not the app's 5.18.1: Debian ships no 5.18.x (trixie and sid
# have 5.15.0) and no other registry reachable here serves JNA, so the JVM tests cannot use
# the app's version; they print the one they load.
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
jna=/usr/share/java/jna.jar
jna_version=$(unzip -p "$jna" META-INF/MANIFEST.MF | sed -n 's/^Implementation-Version: *\([^ ]*\).*/\1/p' | tr -d '\r')
kotlin_home="$PWD/$tools/node_modules/kotlin-compiler"
coroutines="$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
classpath="$jna:$coroutines"

sample=android/sample/src/main/java/com/omniinspector/sample
mapfile -t sources < <(find "$out/kotlin-src" -name '*.kt' | sort)
[ "${#sources[@]}" -gt 0 ] || { echo "kotlin/run.sh: no generated Kotlin in $out/kotlin-src" >&2; exit 1; }
sources+=("$sample/Describe.kt" "$sample/CoreCalls.kt" bindings/tests/kotlin/BindingsTest.kt bindings/tests/kotlin/SampleTest.kt)

log "kotlinc $kotlin_version (generated bindings, the sample's plain Kotlin, the tests); JNA $jna_version from Debian"
"$kotlin_home/bin/kotlinc" -nowarn -cp "$classpath" "${sources[@]}" -d "$out/kotlin-tests.jar"
log "running the Kotlin suite"
java -Djna.library.path="$PWD/$out/generated" \
  -cp "$out/kotlin-tests.jar:$classpath:$kotlin_home/lib/kotlin-stdlib.jar" BindingsTestKt
