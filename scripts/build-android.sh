#!/usr/bin/env bash
# Builds omni-ffi for Android and lays it out for the Gradle project in android/:
#   android/omni/src/main/jniLibs/<abi>/libomni_ffi.so      (arm64-v8a, armeabi-v7a, x86_64)
#   android/omni/src/main/kotlin/com/omniinspector/ffi/*.kt (generated bindings)
#   android/sample/src/main/assets/edge-model.onnx          (the demo model, an app asset)
# All three are gitignored. Idempotent: rerun after any change to the Rust code.
#
# Needs: rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
#        cargo install cargo-ndk
#        ANDROID_NDK_HOME pointing at an Android NDK (r27 or newer)
#
# Sourcing the file defines its functions without building (scripts/check-mobile.sh tests
# find_readelf and check_16k_pages that way).
set -euo pipefail

PROFILE=mobile-ffi          # fat LTO, size-optimised, panic = "unwind" (panics become exceptions)
# omni-ffi features: `onnx` reads ONNX models as well as the device format (the sample app
# ships edge-model.onnx). OMNI_FFI_FEATURES= (empty) builds a device-format-only library, smaller
# by tract-onnx (docs/benchmarks.md), for apps whose models all come as model.nnef.tgz.
FFI_FEATURES=${OMNI_FFI_FEATURES-onnx}
ABIS=(arm64-v8a armeabi-v7a x86_64)
ANDROID_API=26              # android/omni minSdk
TARGET_DIR=${CARGO_TARGET_DIR:-target}
JNI_DIR=android/omni/src/main/jniLibs
KOTLIN_DIR=android/omni/src/main/kotlin
ASSETS_DIR=android/sample/src/main/assets

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-android.sh: %s\n' "$*" >&2; exit 1; }

triple_of() {
  case "$1" in
    arm64-v8a) echo aarch64-linux-android ;;
    armeabi-v7a) echo armv7-linux-androideabi ;;
    x86_64) echo x86_64-linux-android ;;
    *) die "unknown ABI $1" ;;
  esac
}

# find_readelf NDK_DIR: prints the NDK's llvm-readelf. The NDK ships it as a symbolic link
# (to llvm-readobj), so links are followed (-L); a missing tool stops the build, it never
# skips the 16 KB check.
find_readelf() {
  local found
  found=$(find -L "$1/toolchains/llvm/prebuilt" -name llvm-readelf -type f -print -quit 2>/dev/null || true)
  [ -n "$found" ] && [ -x "$found" ] \
    || die "llvm-readelf not found under $1/toolchains/llvm/prebuilt: cannot check the 16 KB page alignment (is ANDROID_NDK_HOME an NDK r27 or newer?)"
  printf '%s\n' "$found"
}

# check_16k_pages READELF SO: every LOAD segment of SO is 16 KB aligned (Android 15+ devices
# with 16 KB pages do not load a library with 4 KB segments), and there is at least one.
check_16k_pages() {
  "$1" -lW "$2" | awk '$1 == "LOAD" { seen = 1; if ($NF != "0x4000") bad = 1 } END { exit (bad || !seen) }' \
    || die "$2: LOAD segments are not 16 KB aligned (or $1 -lW printed none)"
}

main() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  . scripts/bindgen-common.sh  # the host build and the bindgen invocation

  # --- prerequisites --------------------------------------------------------------------------
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
  cargo ndk --version >/dev/null 2>&1 || die "cargo-ndk not found: cargo install cargo-ndk"
  [ -n "${ANDROID_NDK_HOME:-}" ] && [ -d "$ANDROID_NDK_HOME" ] \
    || die "ANDROID_NDK_HOME is not set to an Android NDK directory (e.g. \$ANDROID_HOME/ndk/27.2.12479018)"
  local readelf
  readelf=$(find_readelf "$ANDROID_NDK_HOME")
  if command -v rustup >/dev/null 2>&1; then
    local installed abi triple
    installed=$(rustup target list --installed)
    for abi in "${ABIS[@]}"; do
      triple=$(triple_of "$abi")
      grep -qx "$triple" <<<"$installed" || die "Rust target $triple missing: rustup target add $triple"
    done
  fi

  # --- the Android libraries ------------------------------------------------------------------
  local targets=() abi so
  for abi in "${ABIS[@]}"; do targets+=(-t "$abi"); done
  log "cargo ndk ${ABIS[*]} (API $ANDROID_API, --profile $PROFILE)"
  # 16 KB ELF segment alignment: required by Android 15+ devices with 16 KB memory pages
  # (older NDKs default to 4 KB). Appended to any RUSTFLAGS the caller set.
  RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C link-arg=-Wl,-z,max-page-size=16384" \
    cargo ndk "${targets[@]}" --platform "$ANDROID_API" \
    build -p omni-ffi --profile "$PROFILE" --no-default-features --features "$FFI_FEATURES"

  for abi in "${ABIS[@]}"; do
    so=$TARGET_DIR/$(triple_of "$abi")/$PROFILE/libomni_ffi.so
    [ -f "$so" ] || die "$so was not built"
    check_16k_pages "$readelf" "$so"
    mkdir -p "$JNI_DIR/$abi"
    cp -f "$so" "$JNI_DIR/$abi/libomni_ffi.so"
  done
  log "16 KB LOAD alignment checked with $readelf"

  # --- the Kotlin bindings --------------------------------------------------------------------
  log "host build for the bindgen: $HOST_LIB (unstripped)"
  build_host_library_for_bindgen
  [ -f "$HOST_LIB" ] || die "$HOST_LIB was not built"
  log "generating Kotlin into $KOTLIN_DIR"
  rm -rf "$KOTLIN_DIR/com/omniinspector/ffi"
  mkdir -p "$KOTLIN_DIR"
  generate_bindings kotlin "$KOTLIN_DIR"
  [ -n "$(find "$KOTLIN_DIR" -name '*.kt' -print -quit)" ] || die "the bindgen wrote no Kotlin into $KOTLIN_DIR"

  # --- the demo model, an app asset -----------------------------------------------------------
  mkdir -p "$ASSETS_DIR"
  cp -f core/models/edge-model.onnx "$ASSETS_DIR/edge-model.onnx"

  log "done: $JNI_DIR/{$(IFS=,; echo "${ABIS[*]}")}/libomni_ffi.so, $KOTLIN_DIR, $ASSETS_DIR/edge-model.onnx"
  log "next: cd android && ./gradlew :sample:installDebug   (see android/README.md)"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
