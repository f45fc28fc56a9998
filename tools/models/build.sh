#!/usr/bin/env bash
# Build the model / image / letterbox test fixtures under core/tests/fixtures/ in one go.
#
#   tools/models/build.sh            # venv (if needed) + everything
#   tools/models/build.sh --venv-only
#   EPOCHS=20 SEED=0 tools/models/build.sh
#
# Creates .venv-models at the repo root from tools/requirements-models.txt (skipped when the
# stamp file says the venv already matches the requirements' sha256), then runs
# tools/models/build_fixtures.py and tools/models/build_image_fixtures.py in it.
# Nothing is downloaded from model hubs: Ultralytics runs with YOLO_OFFLINE=1,
# YOLO_AUTOINSTALL=False and a local YOLO_CONFIG_DIR; the model is built from yolo11n.yaml.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv-models"
REQ="$ROOT/tools/requirements-models.txt"
STAMP="$VENV/.omni-requirements.sha256"
WANT="$(sha256sum "$REQ" | cut -d' ' -f1)"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "build.sh: $VENV is up to date with $(basename "$REQ")"
else
  echo "build.sh: creating/updating $VENV (large download: torch, ultralytics)"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --disable-pip-version-check -q -r "$REQ"
  echo "$WANT" > "$STAMP"
fi
[[ "${1:-}" == "--venv-only" ]] && exit 0

export YOLO_OFFLINE=1 YOLO_AUTOINSTALL=False YOLO_CONFIG_DIR="$ROOT/.cache/ultralytics"
export PYTHONHASHSEED=0
mkdir -p "$YOLO_CONFIG_DIR"
"$VENV/bin/python" tools/models/build_fixtures.py --seed "${SEED:-0}" --epochs "${EPOCHS:-20}" "$@"
"$VENV/bin/python" tools/models/build_image_fixtures.py --seed "${SEED:-0}"
"$VENV/bin/python" tools/models/verify_fixtures.py
