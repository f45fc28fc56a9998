# Sourced by build-android.sh and build-ios.sh: the host build of the library that the
# in-repo bindgen reads the interface from (library mode), and the bindgen invocation.
# Needs PROFILE and TARGET_DIR set.

# Unstripped: library mode reads the symbol table, so strip is forced off whatever the
# profile says.
HOST_LIB=$TARGET_DIR/$PROFILE/libomni_ffi.$([ "$(uname -s)" = Darwin ] && echo dylib || echo so)
build_host_library_for_bindgen() {
  CARGO_PROFILE_MOBILE_FFI_STRIP=none cargo build -p omni-ffi --profile "$PROFILE"
}

# THE BINDGEN INVOCATION: generate_bindings LANGUAGE OUT_DIR. A separate cargo invocation
# (dev profile) so that the `bindgen` feature does not change the library built above.
generate_bindings() {
  cargo run -p omni-ffi --bin uniffi-bindgen --features bindgen -- \
    generate --library "$HOST_LIB" --language "$1" \
    --config bindings/uniffi-bindgen.toml --out-dir "$2"
}
