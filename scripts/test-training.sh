#!/usr/bin/env bash
# The labeling loop's training step, outside the README's test command: the test venv
# (.venv, made by scripts/test.sh) has no PyTorch, and the models venv (.venv-models:
# Ultralytics, PyTorch; about 6 GB installed) is too large for the CI budget. Runs the two
# tests `cargo test` lists as ignored for that reason, with OMNI_MODELS_PYTHON set: the core's
# mAP evaluator against Ultralytics' own `val`, and the whole labeling loop with its training
# step (trainer/tests/integration/labeling/commands.rs, whole_loop_trains_and_gates_on_generated_data:
# the loop to a merged data set, 3 epochs of trainer/sagemaker/train.py on CPU and the
# publish gate, the edge pipeline on the val split, on the models it exports).
#
#   scripts/test-training.sh        # makes .venv and .venv-models if needed (idempotent)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

source scripts/test-venv.sh
log "the models venv (.venv-models)"
tools/models/build.sh --venv-only

export OMNI_MODELS_PYTHON="$PWD/.venv-models/bin/python"
log "the mAP evaluator against Ultralytics' val"
cargo test --locked -p omni-core --test integration agrees_with_ultralytics_val -- --ignored --nocapture
log "the whole labeling loop, training included"
cargo test --locked -p omni-trainer --test integration whole_loop_trains_and_gates -- --ignored --nocapture
