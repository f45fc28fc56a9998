#!/usr/bin/env bash
# Measures the office Lambda's cold start under cargo-lambda's Lambda Runtime API emulator
# (`cargo lambda watch --only-lambda-apis`), for one or more `bootstrap` binaries, interleaved
# run by run so that a busy machine slows each binary alike (docs/benchmarks.md, "The office's
# Lambda"). Each run starts the binary as Lambda does (AWS_LAMBDA_RUNTIME_API, the function's
# variables) and sends it one API Gateway REST proxy event with `cargo lambda invoke`:
#
#   cold = process start -> the first invocation answered (init + the first request; the event
#          is queued in the emulator before the process starts, so invoke's own start-up is
#          not in it)
#   warm = a second `cargo lambda invoke` on the same process, whole (the request plus the
#          invoke command's own start-up: context for the cold number, not comparable to it)
#
# The event is GET /v1/inspections?container=BAD on stage prod: lambda_http, the router and the
# validation answer 400 without a DynamoDB call, so no AWS emulator is needed (the store's clients
# are built at init, as on AWS, pointed at an unused loopback port).
#
#   scripts/lambda-cold-start.sh [RUNS] BINARY...       # RUNS defaults to 20
#   EVICT=1 scripts/lambda-cold-start.sh ...   # each run first drops the binary's pages from the
#                                              # page cache (posix_fadvise DONTNEED): read from disk
#   scripts/lambda-cold-start.sh 20 target/lambda/bootstrap/bootstrap
#
# Needs cargo-lambda in .tools/lambda-venv (scripts/build-lambda.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=20
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  runs=$1
  shift
fi
[ $# -ge 1 ] || { echo "usage: scripts/lambda-cold-start.sh [RUNS] BINARY..." >&2; exit 2; }
for bin in "$@"; do
  [ -x "$bin" ] || { echo "lambda-cold-start.sh: not an executable: $bin" >&2; exit 2; }
done
lambda=.tools/lambda-venv/bin/cargo-lambda
[ -x "$lambda" ] || { echo "lambda-cold-start.sh: run scripts/build-lambda.sh first (cargo-lambda)" >&2; exit 2; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$lambda" lambda watch --only-lambda-apis -A 127.0.0.1 -P "$port" >"$work/watch.log" 2>&1 &
watch_pid=$!
function_pid=
cleanup() {
  [ -z "$function_pid" ] || kill "$function_pid" 2>/dev/null || true
  kill "$watch_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

cat >"$work/event.json" <<'EOF'
{"resource": "/v1/{proxy+}", "path": "/v1/inspections", "httpMethod": "GET",
 "headers": {"host": "office1.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https"},
 "multiValueHeaders": {"host": ["office1.execute-api.us-east-1.amazonaws.com"], "x-forwarded-proto": ["https"]},
 "queryStringParameters": {"container": "BAD"}, "multiValueQueryStringParameters": {"container": ["BAD"]},
 "pathParameters": {"proxy": "inspections"}, "stageVariables": null,
 "requestContext": {"resourcePath": "/v1/{proxy+}", "httpMethod": "GET", "path": "/prod/v1/inspections",
   "stage": "prod", "requestId": "cold-start", "accountId": "123456789012", "apiId": "office1",
   "identity": {"sourceIp": "127.0.0.1"}},
 "body": null, "isBase64Encoded": false}
EOF

now_us() { echo $(($(date +%s%N) / 1000)); }
invoke() {
  timeout 60 "$lambda" lambda invoke -A 127.0.0.1 -P "$port" --data-file "$work/event.json" >"$work/answer.json" 2>>"$work/invoke.log" ||
    { echo "no answer; the function said: $(tail -n 5 "$work/function.log")" >&2; exit 1; }
  grep -q '"statusCode":400' "$work/answer.json" ||
    { echo "unexpected answer: $(cat "$work/answer.json")" >&2; exit 1; }
}

declare -A cold warm
for run in $(seq "$runs"); do
  for bin in "$@"; do
    # The first event is queued before the process starts (invoke's own start-up is not timed).
    invoke &
    invoke_pid=$!
    sleep 0.5
    if [ "${EVICT:-}" = 1 ]; then
      python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$bin"
    fi
    start=$(now_us)
    env -i PATH="$PATH" \
      AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
      AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512 \
      AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
      AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL=http://127.0.0.1:9 \
      OMNI_OFFICE_TABLE=omni-office OMNI_OFFICE_BUCKET=omni-office \
      "$bin" >/dev/null 2>>"$work/function.log" &
    function_pid=$!
    wait "$invoke_pid"
    first=$(now_us)
    invoke
    second=$(now_us)
    kill "$function_pid"
    wait "$function_pid" 2>/dev/null || true
    function_pid=
    cold[$bin]+="$((first - start)) "
    warm[$bin]+="$((second - first)) "
  done
done

stats() { # microsecond samples -> "median X ms (min Y, max Z)"
  tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "median %.1f ms (min %.1f, max %.1f)", m / 1000, v[1] / 1000, v[NR] / 1000 }'
}
for bin in "$@"; do
  printf '%s (%s bytes), %s runs\n' "$bin" "$(stat -c %s "$bin")" "$runs"
  printf '  cold (start -> first answer): %s\n' "$(echo "${cold[$bin]}" | stats)"
  printf '  warm (a whole second invoke):  %s\n' "$(echo "${warm[$bin]}" | stats)"
done
