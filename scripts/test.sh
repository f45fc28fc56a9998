#!/usr/bin/env bash
# Runs every test of the workspace on a fresh Debian machine with the Rust toolchain.
# Installs what the tests need first, idempotently: the Python test venv (.venv) from
# tools/requirements-test.txt, and poppler-utils from Debian. Services the tests talk to are started on 127.0.0.1 by the
# tests themselves and stopped when they end: the trainer's tests start moto (S3, SageMaker,
# SageMaker Runtime; trainer/tests/servers/moto_ext.py, from moto[server] in the venv) and a
# job-states server, one per test binary, each on a free port. The binding tests
# (bindings/tests/run.sh) start omni-binding-fixtures (the endpoint and a model manifest
# server) per suite. Kotlin's compiler (npm) goes into .tools/, JNA comes from Debian; the
# Lambda build's cargo-lambda and Zig (PyPI) go into .tools/lambda-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

# --- Debian tools the tests call: poppler's pdftotext reads the EIR PDFs back ---------------
if ! command -v pdftotext >/dev/null 2>&1; then
  log "installing poppler-utils"
  apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null
fi

# --- Debian's Chromium and chromedriver: the office web view's browser test --------------------
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium and chromium-driver"
  apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# One build, no incremental caches: they would double the workspace crates' share of target/
# for a build that runs once (a fresh clone in CI).
export CARGO_INCREMENTAL=0

# --- Python venv for reference checks (onnxruntime, botocore, moto) ------------------------
source scripts/test-venv.sh
# Every test runs: a missing tool fails its tests (the full-disk tests mount a small tmpfs,
# so CI runs as root). The OMNI_SKIP_*_TESTS variables that would skip some are for
# machines without those tools, never for this script (docs/testing.md).
for var in $(compgen -e | grep -E '^OMNI_SKIP_.*_TESTS$' || true); do
  log "unsetting $var: the README's test command runs every test"
  unset "$var"
done

# --- Rust ------------------------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "cargo test"
# Unit, integration and doc tests. Not --all-targets: that would also run the benchmark
# binaries (harness = false), which clippy --all-targets already compiles.
cargo test --workspace --locked

# --- Bindings ----------------------------------------------------------------------------------
# The generated Python and Kotlin (JVM) bindings against real servers on 127.0.0.1, and the
# Swift header (installs kotlin-compiler from npm and libjna-java from Debian when missing).
log "binding tests (Python, Kotlin on the JVM, Swift header)"
bash bindings/tests/run.sh

# --- The office's Lambda -----------------------------------------------------------------------
# bootstrap built for provided.al2023 (cargo-lambda + Zig from PyPI into .tools/lambda-venv,
# glibc 2.34), then checked: an x86-64 ELF needing no GLIBC_ symbol version newer than 2.34;
# prints its size. A missing tool fails here (docs/office.md, "Deploy").
log "Lambda bootstrap for provided.al2023 (scripts/build-lambda.sh --check)"
bash scripts/build-lambda.sh --check
