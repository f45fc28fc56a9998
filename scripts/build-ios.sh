#!/usr/bin/env bash
# Builds omni-ffi for iOS (device and Apple-silicon simulator) and lays it out for the Swift
# package in ios/:
#   ios/OmniFFI.xcframework           libomni_ffi.a per platform + C header + module.modulemap
#   ios/Sources/OmniFFI/*.swift        the generated Swift bindings (target OmniFFI)
#   ios/Sample/Resources/edge-model.onnx the demo model, for the sample app's bundle
# All gitignored. Idempotent: rerun after any change to the Rust code. macOS with Xcode only.
#
# Needs: rustup target add aarch64-apple-ios aarch64-apple-ios-sim
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(uname -s)" = Darwin ] || { echo "build-ios.sh: needs macOS with Xcode; this machine runs $(uname -s)" >&2; exit 1; }

PROFILE=mobile-ffi          # fat LTO, size-optimised, panic = "unwind" (panics become Swift errors)
# omni-ffi features: `onnx` reads ONNX models as well as the device format (the sample app
# ships edge-model.onnx). OMNI_FFI_FEATURES= (empty) builds a device-format-only library, smaller
# by tract-onnx (docs/benchmarks.md), for apps whose models all come as model.nnef.tgz.
FFI_FEATURES=${OMNI_FFI_FEATURES-onnx}
TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim)
export IPHONEOS_DEPLOYMENT_TARGET=15.0  # Package.swift platforms; also for the C dependencies
TARGET_DIR=${CARGO_TARGET_DIR:-target}
GEN_DIR=$TARGET_DIR/uniffi-swift
XCFRAMEWORK=ios/OmniFFI.xcframework
SWIFT_DIR=ios/Sources/OmniFFI

. scripts/bindgen-common.sh  # the host build and the bindgen invocation

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-ios.sh: %s\n' "$*" >&2; exit 1; }
# The one file a glob matched.
one() { { [ "$#" -eq 1 ] && [ -f "$1" ]; } || die "expected exactly one file, found: $*"; printf '%s' "$1"; }

command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
command -v xcodebuild >/dev/null 2>&1 || die "xcodebuild not found: install Xcode and run xcode-select"
if command -v rustup >/dev/null 2>&1; then
  installed=$(rustup target list --installed)
  for t in "${TARGETS[@]}"; do
    grep -qx "$t" <<<"$installed" || die "Rust target $t missing: rustup target add $t"
  done
fi

# --- static libraries -------------------------------------------------------------------------
for t in "${TARGETS[@]}"; do
  log "cargo build --target $t --profile $PROFILE"
  cargo build -p omni-ffi --profile "$PROFILE" --no-default-features --features "$FFI_FEATURES" --target "$t"
  [ -f "$TARGET_DIR/$t/$PROFILE/libomni_ffi.a" ] || die "$TARGET_DIR/$t/$PROFILE/libomni_ffi.a was not built"
done

# --- Swift bindings, C header, module map -----------------------------------------------------
log "host build for the bindgen: $HOST_LIB (unstripped)"
build_host_library_for_bindgen
[ -f "$HOST_LIB" ] || die "$HOST_LIB was not built"
rm -rf "$GEN_DIR"
mkdir -p "$GEN_DIR"
log "generating Swift into $GEN_DIR"
generate_bindings swift "$GEN_DIR"
swift_file=$(one "$GEN_DIR"/*.swift)
header=$(one "$GEN_DIR"/*.h)
modulemap=$(one "$GEN_DIR"/*.modulemap)

# An XCFramework's headers directory exposes a Clang module only as module.modulemap.
headers=$GEN_DIR/headers
mkdir -p "$headers"
cp "$header" "$headers/"
cp "$modulemap" "$headers/module.modulemap"

# --- XCFramework ------------------------------------------------------------------------------
log "creating $XCFRAMEWORK"
rm -rf "$XCFRAMEWORK"
xcodebuild -create-xcframework \
  -library "$TARGET_DIR/aarch64-apple-ios/$PROFILE/libomni_ffi.a" -headers "$headers" \
  -library "$TARGET_DIR/aarch64-apple-ios-sim/$PROFILE/libomni_ffi.a" -headers "$headers" \
  -output "$XCFRAMEWORK"

mkdir -p "$SWIFT_DIR"
rm -f "$SWIFT_DIR"/*.swift
cp "$swift_file" "$SWIFT_DIR/"

mkdir -p ios/Sample/Resources
cp -f core/models/edge-model.onnx ios/Sample/Resources/edge-model.onnx

log "done: $XCFRAMEWORK, $SWIFT_DIR/$(basename "$swift_file"), ios/Sample/Resources/edge-model.onnx"
