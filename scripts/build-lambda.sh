#!/usr/bin/env bash
# Builds the yard office's Lambda, omni-office's `bootstrap` binary (feature `lambda`), for AWS
# Lambda's `provided.al2023` runtime: linked by cargo-lambda with Zig against glibc 2.34 (Amazon
# Linux 2023's), so that it needs no symbol version the runtime lacks. Profile `release-lambda`
# (release, no debug info, stripped). See docs/office.md, "Deploy".
#
#   scripts/build-lambda.sh             # x86_64 -> target/lambda/bootstrap/bootstrap
#                                       #   (office/template.yaml's CodeUri; deploy with
#                                       #   Architecture=x86_64)
#   scripts/build-lambda.sh --arm64     # arm64  -> target/lambda/arm64/bootstrap/bootstrap
#   scripts/build-lambda.sh --check     # build x86_64, then check it (the test scripts/test.sh
#                                       #   runs): an x86-64 ELF, no GLIBC_ symbol version newer
#                                       #   than 2.34; prints its size and the build time
#   scripts/build-lambda.sh --elf FILE  # only the check, on FILE (e.g. a host build, to see it
#                                       #   fail: target/debug/bootstrap needs GLIBC_2.35)
#
# arm64 needs the aarch64-unknown-linux-gnu standard library (`rustup target add
# aarch64-unknown-linux-gnu`); without it --arm64 fails with that hint.
#
# Tools, installed idempotently: cargo-lambda and Zig (the `cargo-lambda` and `ziglang` wheels
# from PyPI, versions in tools/requirements-lambda.txt) into .tools/lambda-venv, and binutils
# (readelf) from Debian for --check. A tool that cannot be installed fails the script, unless
# OMNI_SKIP_LAMBDA_TESTS=1 says to skip: then it prints what it skipped and exits 0
# (scripts/test.sh unsets it: the README's test command runs every check).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-lambda.sh: %s\n' "$*" >&2; exit 1; }

# The newest glibc symbol version provided.al2023 has.
GLIBC_MAX=2.34

check=false
arch=x86_64
elf=
while [ $# -gt 0 ]; do
  case $1 in
    --check) check=true ;;
    --arm64) arch=arm64 ;;
    --x86-64 | --x86_64) arch=x86_64 ;;
    --elf) [ $# -ge 2 ] || die "--elf needs a FILE"; elf=$2; check=true; shift ;;
    -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (--check, --arm64, --x86-64, --elf FILE)" ;;
  esac
  shift
done

skip() {
  if [ "${OMNI_SKIP_LAMBDA_TESTS:-}" = 1 ]; then
    log "SKIPPED (OMNI_SKIP_LAMBDA_TESTS=1): the Lambda build for provided.al2023 and its glibc $GLIBC_MAX check: $*"
    exit 0
  fi
  die "$* (OMNI_SKIP_LAMBDA_TESTS=1 skips the Lambda build)"
}

case $arch in
  x86_64) triple=x86_64-unknown-linux-gnu; elf_machine='X86-64'; lambda_dir=target/lambda ;;
  arm64) triple=aarch64-unknown-linux-gnu; elf_machine='AArch64'; lambda_dir=target/lambda/arm64 ;;
esac
if [ -z "$elf" ] && { ! rustc --print sysroot >/dev/null 2>&1 ||
  [ ! -d "$(rustc --print sysroot)/lib/rustlib/$triple/lib" ]; }; then
  die "the $triple standard library is not installed (rustup target add $triple)"
fi

# --- Tools: cargo-lambda + Zig from PyPI, readelf from Debian ---------------------------------
venv=.tools/lambda-venv
stamp=$venv/.requirements.sha256
want=$(sha256sum tools/requirements-lambda.txt | cut -d' ' -f1)
if [ -z "$elf" ] && { [ ! -x "$venv/bin/cargo-lambda" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; }; then
  log "installing cargo-lambda and ziglang into $venv (tools/requirements-lambda.txt)"
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3-venv python3-pip >/dev/null ||
      skip "python3-venv could not be installed"
  fi
  mkdir -p .tools
  python3 -m venv "$venv" || skip "could not create $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tools/requirements-lambda.txt ||
    skip "cargo-lambda/ziglang could not be installed from PyPI"
  echo "$want" >"$stamp"
fi
if $check && ! command -v readelf >/dev/null 2>&1; then
  log "installing binutils (readelf)"
  { apt-get update -qq && apt-get install -y -qq binutils >/dev/null; } ||
    skip "binutils (readelf) could not be installed"
fi
# cargo-lambda finds Zig through the venv's python (`python -m ziglang`).
export PATH="$PWD/$venv/bin:$PATH"

# --- Build ------------------------------------------------------------------------------------
if [ -n "$elf" ]; then
  bin=$elf
  [ -f "$bin" ] || die "no such file: $bin"
else
  log "cargo lambda build: omni-office bootstrap, $triple.$GLIBC_MAX, profile release-lambda"
  start=$(date +%s)
  cargo lambda build --locked --profile release-lambda -p omni-office --bin bootstrap --features lambda \
    --target "$triple.$GLIBC_MAX" --lambda-dir "$lambda_dir"
  seconds=$(($(date +%s) - start))
  bin=$lambda_dir/bootstrap/bootstrap
  [ -x "$bin" ] || die "cargo lambda build did not write $bin"
  log "built $bin in ${seconds}s"
fi

$check || exit 0

# --- Check: the ELF provided.al2023 can start -------------------------------------------------
machine=$(readelf -h "$bin" | sed -n 's/^ *Machine: *//p')
case $machine in
  *"$elf_machine"*) ;;
  *) die "$bin is not an $elf_machine ELF (Machine: $machine)" ;;
esac
# The version needs (.gnu.version_r): every GLIBC_x.y the dynamic linker must find.
needs=$(readelf -V --wide "$bin" | grep -oE 'Name: GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/Name: GLIBC_//' | sort -uV)
[ -n "$needs" ] || die "$bin lists no GLIBC_ version needs (readelf -V): not a glibc-linked binary?"
newest=$(printf '%s\n' "$needs" | tail -n1)
newer_than_max() { [ "$(printf '%s\n%s\n' "$1" "$GLIBC_MAX" | sort -V | tail -n1)" != "$GLIBC_MAX" ]; }
if newer_than_max "$newest"; then
  printf 'symbols needing a glibc newer than %s:\n' "$GLIBC_MAX" >&2
  too_new=()
  for v in $needs; do
    newer_than_max "$v" || continue
    too_new+=("GLIBC_$v")
    readelf --dyn-syms --wide "$bin" | grep -F "@GLIBC_$v" | awk '{ print "  " $8 }' >&2 || true
  done
  die "$bin needs ${too_new[*]} (provided.al2023 has glibc $GLIBC_MAX): it would not start"
fi
bytes=$(stat -c %s "$bin")
zip_bytes=$(python3 - "$bin" <<'EOF'
import io, sys, zipfile
out = io.BytesIO()
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[1], "bootstrap")
print(len(out.getvalue()))
EOF
)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
log "ok: $bin ($arch) needs glibc <= $newest (versions: $(echo $needs)), size $(mib "$bytes") ($bytes bytes; zipped $(mib "$zip_bytes"))${seconds:+, built in ${seconds}s}"
