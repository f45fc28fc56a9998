#!/usr/bin/env bash
# How much one labeling loop helps, measured on generated data (docs/labeling.md, "How much
# the loop helps"). Needs the models venv (tools/models/build.sh --venv-only) and the debug
# omni / omni-trainer binaries (cargo build -p omni-cli -p omni-trainer). On 2 CPU cores it
# takes about 30 minutes.
#
# 1. A base data set (BASE_TRAIN train / VAL val images, generator seed 41) and a pool of
#    POOL field photos (seed 42) that no model has seen.
# 2. The base model: trainer/sagemaker/train.py from scratch, BASE_EPOCHS epochs at 320.
# 3. The pool captured on a phone store with the base model's edge verdicts (omni inspect
#    --model, boxes from CONF), then two batches of BUDGET photos: "selected" (omni-trainer
#    labeling select, strategies low-confidence (band CONF..0.5), many-boxes, random: the hard
#    cases plus the default 10 % control) and "random" (only the random strategy, the whole
#    budget).
# 4. Each batch "labelled" from the generator's ground truth (matched by SHA-256) and added to
#    the base training split; a third arm adds nothing. Each arm fine-tunes the base model's
#    best.pt (train.py's transfer learning: yolo11n.pt in the channel) for FT_EPOCHS epochs.
# 5. Every model scored by `omni eval` (our tract pipeline) on the same base val split.
#
# Prints a table and writes $OUT/results.json. Single seed: differences of a point or two
# are within run-to-run noise at this scale.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/.cache/loop-experiment}"
BASE_TRAIN="${BASE_TRAIN:-150}" VAL="${VAL:-60}" POOL="${POOL:-300}" BUDGET="${BUDGET:-50}"
BASE_EPOCHS="${BASE_EPOCHS:-50}" FT_EPOCHS="${FT_EPOCHS:-12}"
# A weak base model scores little above 0.25: its verdicts are stored from CONF and the
# low-confidence band starts there, so that selection has candidates to rank.
CONF="${CONF:-0.1}"
PY="$PWD/.venv-models/bin/python"
OMNI="$PWD/target/debug/omni" TRAINER="$PWD/target/debug/omni-trainer"
for f in "$PY" "$OMNI" "$TRAINER"; do [[ -x "$f" ]] || { echo "loop_experiment.sh: $f missing" >&2; exit 1; }; done
export YOLO_OFFLINE=1 YOLO_AUTOINSTALL=False YOLO_CONFIG_DIR="$PWD/.cache/ultralytics" PYTHONHASHSEED=0
log() { printf '==> [%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
mkdir -p "$OUT"

train() { # train DATASET MODEL_DIR EPOCHS
  rm -rf "$2" "$2.ckpt"
  SM_CHANNEL_TRAINING="$1" SM_MODEL_DIR="$2" OMNI_CHECKPOINT_DIR="$2.ckpt" \
    "$PY" trainer/sagemaker/train.py --epochs "$3" --imgsz 320 --batch 16 --workers 0 \
    --device cpu --calib-images 8 > "$2.log" 2>&1 || { tail -20 "$2.log" >&2; exit 1; }
}

log "generating the base set and the pool"
[[ -f "$OUT/base/data.yaml" ]] || "$PY" tools/datagen/generate_yard_dataset.py --seed 41 \
  --train "$BASE_TRAIN" --val "$VAL" --imgsz 640 --workers 2 --out "$OUT/base" > /dev/null
[[ -f "$OUT/pool/data.yaml" ]] || "$PY" tools/datagen/generate_yard_dataset.py --seed 42 \
  --train "$POOL" --val 1 --imgsz 640 --workers 2 --out "$OUT/pool" > /dev/null

log "training the base model ($BASE_EPOCHS epochs from scratch)"
[[ -f "$OUT/model-base/best.pt" ]] || train "$OUT/base" "$OUT/model-base" "$BASE_EPOCHS"

log "capturing the pool on a phone with the base model's verdicts"
rm -rf "$OUT/phone" "$OUT/batches-selected" "$OUT/batches-random"
"$OMNI" --data-dir "$OUT/phone" inspect --quiet --container CSQU3054383 --conf "$CONF" \
  --model "$OUT/model-base/model.onnx" "$OUT"/pool/train/images/* > /dev/null
log "selecting $BUDGET photos twice"
"$TRAINER" labeling select --phone "$OUT/phone" --out "$OUT/batches-selected" --name selected \
  --max "$BUDGET" --seed 7 --strategy low-confidence,many-boxes,random --band "$CONF..0.5" \
  --min-score "$CONF" --json > "$OUT/select-selected.json"
"$TRAINER" labeling select --phone "$OUT/phone" --out "$OUT/batches-random" --name random \
  --max "$BUDGET" --seed 7 --strategy random --random-share 1 --json > "$OUT/select-random.json"

log "building the three arms"
"$PY" - "$OUT" <<'PY'
import hashlib, json, shutil, sys
from pathlib import Path
out = Path(sys.argv[1])
pool = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in (out / "pool/train/images").iterdir()}
for arm in ("selected", "random", "none"):
    ds = out / f"arm-{arm}"
    shutil.rmtree(ds, ignore_errors=True)
    shutil.copytree(out / "base", ds)
    shutil.copy(out / "model-base/best.pt", ds / "yolo11n.pt")  # train.py: transfer learning
    if arm == "none":
        continue
    batch = json.loads((out / f"batches-{arm}/{arm}/batch.json").read_text())
    for photo in batch["photos"]:
        src = pool[photo["sha256"]]
        # The generator names both sets' files alike: prefixed, so no base image is replaced.
        shutil.copy(src, ds / "train/images" / f"pool-{src.name}")
        shutil.copy(out / "pool/train/labels" / f"{src.stem}.txt", ds / "train/labels" / f"pool-{src.stem}.txt")
    added = len(list((ds / "train/images").iterdir())) - len(list((out / "base/train/images").iterdir()))
    assert added == len(batch["photos"]), (arm, added)
    print(f"{arm}: {added} photos added", file=sys.stderr)
PY

for arm in selected random none; do
  log "fine-tuning arm $arm ($FT_EPOCHS epochs from the base model)"
  train "$OUT/arm-$arm" "$OUT/model-$arm" "$FT_EPOCHS"
done

log "scoring every model on the base val split with omni eval"
echo '{}' > "$OUT/results.json"
for model in base selected random none; do
  "$OMNI" eval --quiet --json --data "$OUT/base" --model "$OUT/model-$model/model.onnx" > "$OUT/eval-$model.json"
done
"$PY" - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
rows = {}
for model in ("base", "selected", "random", "none"):
    e = json.loads((out / f"eval-{model}.json").read_text())
    m = e.get("metrics", e)
    rows[model] = {"mAP50": m["map50"], "mAP50-95": m["map50_95"]}
sel = json.loads((out / "select-selected.json").read_text())
rows["selection"] = {k: sel.get(k) for k in ("scanned", "candidates")}
(out / "results.json").write_text(json.dumps(rows, indent=2))
print("| model | mAP50 | mAP50-95 |\n| --- | --- | --- |")
for model in ("base", "selected", "random", "none"):
    r = rows[model]
    print(f"| {model} | {r['mAP50']:.3f} | {r['mAP50-95']:.3f} |")
print(json.dumps(rows["selection"]))
PY
