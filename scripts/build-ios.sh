#!/usr/bin/env bash
# Builds omni-ffi for iOS (device, and the simulator on Apple silicon and Intel Macs) and lays it
# out for the Swift package in ios/:
#   ios/OmniFFIFramework.xcframework     libomni_ffi.a for ios-arm64 and ios-arm64_x86_64-simulator,
#                                        the C header and module.modulemap (binary target OmniFFIFramework)
#   ios/Sources/OmniFFI/*.swift          the generated Swift bindings (target OmniFFI)
#   ios/Sample/Resources/edge-model.onnx the demo model, for the sample app's bundle
# All gitignored. Idempotent: rerun after any change to the Rust code. macOS with Xcode only.
#
# Needs: rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
#
# Sourcing the file defines its settings and functions without building (scripts/check-mobile.sh
# reads the target lists and the XCFramework name that way).
set -euo pipefail

PROFILE=mobile-ffi          # fat LTO, size-optimised, panic = "unwind" (panics become Swift errors)
# omni-ffi features: `onnx` reads ONNX models as well as the device format (the sample app
# ships edge-model.onnx). OMNI_FFI_FEATURES= (empty) builds a device-format-only library, smaller
# by tract-onnx (docs/benchmarks.md), for apps whose models all come as model.nnef.tgz.
FFI_FEATURES=${OMNI_FFI_FEATURES-onnx}
DEVICE_TARGET=aarch64-apple-ios
# `xcodebuild -destination 'generic/platform=iOS Simulator'` builds every simulator
# architecture, arm64 and x86_64: both slices are built and joined with lipo.
SIMULATOR_TARGETS=(aarch64-apple-ios-sim x86_64-apple-ios)
TARGETS=("$DEVICE_TARGET" "${SIMULATOR_TARGETS[@]}")
export IPHONEOS_DEPLOYMENT_TARGET=15.0  # Package.swift platforms; also for the C dependencies
TARGET_DIR=${CARGO_TARGET_DIR:-target}
GEN_DIR=$TARGET_DIR/uniffi-swift
# The file name of a binary target's XCFramework is the target's name (Package.swift).
XCFRAMEWORK=ios/OmniFFIFramework.xcframework
SWIFT_DIR=ios/Sources/OmniFFI

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-ios.sh: %s\n' "$*" >&2; exit 1; }

main() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  [ "$(uname -s)" = Darwin ] || die "needs macOS with Xcode; this machine runs $(uname -s)"
  . scripts/bindgen-common.sh  # the host build and the bindgen invocation

  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
  command -v xcodebuild >/dev/null 2>&1 || die "xcodebuild not found: install Xcode and run xcode-select"
  command -v lipo >/dev/null 2>&1 || die "lipo not found: install Xcode's command line tools"
  local t
  if command -v rustup >/dev/null 2>&1; then
    local installed
    installed=$(rustup target list --installed)
    for t in "${TARGETS[@]}"; do
      grep -qx "$t" <<<"$installed" || die "Rust target $t missing: rustup target add $t"
    done
  fi

  # --- static libraries -----------------------------------------------------------------------
  for t in "${TARGETS[@]}"; do
    log "cargo build --target $t --profile $PROFILE"
    cargo build -p omni-ffi --profile "$PROFILE" --no-default-features --features "$FFI_FEATURES" --target "$t"
    [ -f "$TARGET_DIR/$t/$PROFILE/libomni_ffi.a" ] || die "$TARGET_DIR/$t/$PROFILE/libomni_ffi.a was not built"
  done

  # One simulator library with every simulator architecture (an XCFramework takes one library
  # per platform).
  local sim_lib=$GEN_DIR/ios-simulator/libomni_ffi.a sim_inputs=()
  rm -rf "$GEN_DIR"
  mkdir -p "$(dirname "$sim_lib")"
  for t in "${SIMULATOR_TARGETS[@]}"; do sim_inputs+=("$TARGET_DIR/$t/$PROFILE/libomni_ffi.a"); done
  log "lipo ${SIMULATOR_TARGETS[*]} -> $sim_lib"
  lipo -create "${sim_inputs[@]}" -output "$sim_lib"
  local archs
  archs=$(lipo -archs "$sim_lib")
  for t in arm64 x86_64; do
    grep -qw "$t" <<<"$archs" || die "$sim_lib lacks the $t simulator slice (has: $archs)"
  done

  # --- Swift bindings, C header, module map ---------------------------------------------------
  log "host build for the bindgen: $HOST_LIB (unstripped)"
  build_host_library_for_bindgen
  [ -f "$HOST_LIB" ] || die "$HOST_LIB was not built"
  log "generating Swift into $GEN_DIR"
  generate_bindings swift "$GEN_DIR"
  # One Swift file and one C header per component (omni_ffi, and omni_core and omni_protocol,
  # whose own types cross): the Swift files make the one OmniFFI module, the headers the one
  # C module omni_ffiFFI (bindings/uniffi-bindgen.toml), whose module map is written here.
  local swift_files=("$GEN_DIR"/*.swift)
  [ -f "$GEN_DIR/OmniFFI.swift" ] || die "no OmniFFI.swift generated in $GEN_DIR"

  # An XCFramework's headers directory exposes a Clang module only as module.modulemap.
  local headers=$GEN_DIR/headers
  mkdir -p "$headers"
  cp "$GEN_DIR"/*.h "$headers/"
  {
    echo "module omni_ffiFFI {"
    for h in "$GEN_DIR"/*.h; do echo "    header \"$(basename "$h")\""; done
    echo "    export *"
    echo "    use \"Darwin\""
    echo "    use \"_Builtin_stdbool\""
    echo "    use \"_Builtin_stdint\""
    echo "}"
  } > "$headers/module.modulemap"

  # --- XCFramework ----------------------------------------------------------------------------
  log "creating $XCFRAMEWORK"
  rm -rf "$XCFRAMEWORK" ios/OmniFFI.xcframework  # the latter: the name before the rename
  xcodebuild -create-xcframework \
    -library "$TARGET_DIR/$DEVICE_TARGET/$PROFILE/libomni_ffi.a" -headers "$headers" \
    -library "$sim_lib" -headers "$headers" \
    -output "$XCFRAMEWORK"

  mkdir -p "$SWIFT_DIR"
  rm -f "$SWIFT_DIR"/*.swift
  cp "${swift_files[@]}" "$SWIFT_DIR/"

  mkdir -p ios/Sample/Resources
  cp -f core/models/edge-model.onnx ios/Sample/Resources/edge-model.onnx

  log "done: $XCFRAMEWORK (ios-arm64, ios-arm64_x86_64-simulator), $SWIFT_DIR/ (${#swift_files[@]} Swift files), ios/Sample/Resources/edge-model.onnx"
  log "next: cd ios && xcodegen generate && open OmniInspectorSample.xcodeproj   (see ios/README.md)"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
