#!/usr/bin/env bash
# Train the Omni-Inspector demo model locally, on CPU, with the SageMaker entry script.
#
#   tools/models/train_demo.sh                       # generate data (if needed) + train + export
#   nohup tools/models/train_demo.sh > .cache/demo-model/train.log 2>&1 &   # in the background
#   EPOCHS=10 tools/models/train_demo.sh             # other epoch count (new runs only, see below)
#   FRESH=1 tools/models/train_demo.sh               # drop checkpoints/outputs and start over
#
# 1. generates the synthetic yard data set with tools/datagen/generate_yard_dataset.py
#    (SEED, TRAIN_IMAGES train / VAL_IMAGES val images, 640 px long side) into
#    .cache/demo-model/data, skipped when .cache/demo-model/data.stamp.json says the same
#    seed/sizes/generator already made it;
# 2. runs trainer/sagemaker/train.py in .venv-models with the SageMaker paths pointed at
#    .cache/demo-model:  SM_CHANNEL_TRAINING=data  OMNI_CHECKPOINT_DIR=checkpoints
#    SM_MODEL_DIR=model, on CPU, imgsz IMGSZ (320), batch 16, workers 0, the seed plan's
#    augmentation defaults of train.py;
# 3. train.py writes model/{best.pt,model.onnx,model-int8.onnx,metrics.json,results.csv}.
#
# Re-running resumes: Ultralytics keeps checkpoints/omni-yolo11n/weights/last.pt after every
# epoch, and train.py resumes an unfinished run from it (with the run's original epoch count
# and hyperparameters; EPOCHS only applies to a new run) or, when the run had finished, only
# re-exports. FRESH=1 (or deleting .cache/demo-model/checkpoints) starts a new run.
# Nothing is downloaded: YOLO_OFFLINE=1, YOLO_AUTOINSTALL=False, YOLO_CONFIG_DIR in .cache.
#
# EPOCHS default (65): sized for ~50-55 min on a 2-core x86 CPU (Xeon, 2 threads): measured
# 45-47 s per epoch with mosaic on (400 train / 100 val images at 320, training + per-epoch
# val; the last close_mosaic=10 epochs are cheaper), ~20 s for export, int8 calibration and
# the two ONNX val passes, ~10 s start-up.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

EPOCHS="${EPOCHS:-65}"
SEED="${SEED:-0}"
TRAIN_IMAGES="${TRAIN_IMAGES:-400}"
VAL_IMAGES="${VAL_IMAGES:-100}"
IMGSZ="${IMGSZ:-320}"
BATCH="${BATCH:-16}"
MODEL_NAME="${MODEL_NAME:-yolo11n-omni-damage-demo}"
MODEL_VERSION="${MODEL_VERSION:-0.1.0}"
DEMO="${DEMO_DIR:-$ROOT/.cache/demo-model}"
DATA="$DEMO/data" CKPT="$DEMO/checkpoints" OUT="$DEMO/model"
PY="$ROOT/.venv-models/bin/python"

[[ -x "$PY" ]] || { echo "train_demo.sh: $PY missing; run tools/models/build.sh --venv-only first" >&2; exit 1; }

export YOLO_OFFLINE=1 YOLO_AUTOINSTALL=False YOLO_CONFIG_DIR="$ROOT/.cache/ultralytics" PYTHONHASHSEED=0
mkdir -p "$YOLO_CONFIG_DIR" "$DEMO"

if [[ "${FRESH:-0}" == 1 ]]; then
  echo "train_demo.sh: FRESH=1, removing $CKPT and $OUT"
  rm -rf "$CKPT" "$OUT"
fi

# ---- data set ---------------------------------------------------------------------------
GEN=tools/datagen/generate_yard_dataset.py
KEY="seed=$SEED train=$TRAIN_IMAGES val=$VAL_IMAGES imgsz=640 generator=$(sha256sum "$GEN" | cut -d' ' -f1)"
STAMP="$DEMO/data.stamp"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$KEY" && -f "$DATA/data.yaml" ]]; then
  echo "train_demo.sh: reusing data set $DATA ($KEY)"
else
  if [[ -e "$CKPT" ]]; then
    echo "train_demo.sh: the data set must be (re)generated but $CKPT holds a run trained on other data;" \
         "rerun with FRESH=1 (or remove $CKPT)" >&2
    exit 1
  fi
  echo "train_demo.sh: generating data set into $DATA ($KEY)"
  rm -rf "$DATA" "$DATA.tmp" "$STAMP"
  "$PY" "$GEN" --out "$DATA.tmp" --seed "$SEED" --train "$TRAIN_IMAGES" --val "$VAL_IMAGES" --imgsz 640
  mv "$DATA.tmp" "$DATA"
  echo "$KEY" > "$STAMP"
fi

# ---- train + export ---------------------------------------------------------------------
T0=$(date +%s)
echo "train_demo.sh: $(date -Is) on $(hostname), $(nproc) CPU(s) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), device cpu"
SM_CHANNEL_TRAINING="$DATA" SM_MODEL_DIR="$OUT" OMNI_CHECKPOINT_DIR="$CKPT" \
  "$PY" trainer/sagemaker/train.py \
    --epochs "$EPOCHS" --batch "$BATCH" --imgsz "$IMGSZ" --seed "$SEED" --workers 0 --device cpu \
    --model-name "$MODEL_NAME" --model-version "$MODEL_VERSION" "$@"
T1=$(date +%s)

"$PY" - "$OUT/metrics.json" "$((T1 - T0))" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
t = m["train"]
print(f"train_demo.sh: ran on {m['host']['hostname']} ({m['host']['cpus']} CPUs, device {t['device']}); "
      f"this invocation {sys.argv[2]} s wall; {t['epochs_run']}/{t['epochs_requested']} epochs, "
      f"{t['train_seconds']} s training ({t['seconds_per_epoch']} s/epoch) over {t['sessions']} session(s)")
print(f"train_demo.sh: float mAP50={m['onnx']['float']['mAP50']} mAP50-95={m['onnx']['float']['mAP50-95']}; "
      f"int8 mAP50={m['onnx']['int8']['mAP50']} mAP50-95={m['onnx']['int8']['mAP50-95']}")
EOF
echo "train_demo.sh: outputs in $OUT:"
ls -l "$OUT"
