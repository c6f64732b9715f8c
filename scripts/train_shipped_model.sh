#!/usr/bin/env bash
# Rebuild the model shipped in src/scintiseg/weights/phantom_lesions.pt from nothing but this repository
# (issue 13: the recipe of a model meant to work on real scans; docs/robustness.md has its measurements).
#
# Paper B's network (rdinet, preset "small"; chosen by measurement among dpunet, rdinet, unet and MONAI's
# DynUNet under the same budget, docs/robustness.md "Architecture by measurement") trained on phantom patients made
# on the fly from the domain-randomised profile "randomised" (scintiseg.train.synthetic): every view is
# resampled to 2.26 mm, degraded the way real archives are (another matrix, region crops, 8-bit/JPEG export,
# flips), normalised with the count-level-stable "robust" method, and cut into randomly placed 256 x 256
# windows of the whole body. Prediction resamples every scan to 2.26 mm and tiles the whole view.
# Deterministic on CPU for a given seed (patients, degradations and windows are seeded by patient index).
#
#   bash scripts/train_shipped_model.sh [RUN]            (default RUN: runs/shipped)
#   MODEL=unet PRESET=small THREADS=1 MINUTES=40 bash scripts/train_shipped_model.sh runs/unet   (the comparison)
#   PACKAGE=1 bash scripts/train_shipped_model.sh runs/shipped    (then writes the shipped file)
#
# EPOCHS bounds the run; MINUTES (optional) stops it earlier by wall-clock (resumable: run it again to go on;
# a resumed run takes THREADS and EPOCHS from this invocation). The shipped file was made this way: 40 minutes
# with THREADS=1 beside the three other networks of the comparison, then resumed alone with THREADS=2 for
# 42 minutes; its epoch is recorded in the file ("epoch"), so EPOCHS=<that epoch> bash scripts/train_shipped_model.sh
# repeats it (bit for bit only with the same thread counts: a different thread count reorders float sums).
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/shipped}
bin=.venv/bin/scintiseg
model=${MODEL:-rdinet}
preset=${PRESET:-small}
epochs=${EPOCHS:-120}
seed=${SEED:-2026}
threads=${THREADS:-2}
args=(--out "$run" --model "$model" --model-arg "preset=$preset"
      --synthetic randomised --pixel-mm 2.26 --window-size 256 --pool-patients 48 --refresh 0.5
      --windows-per-view 2 --val-patients 12 --normalisation robust --input-mode ant
      --loss dice_bce --epochs "$epochs" --batch-size 8 --lr 1e-3 --head-prior 0.01 --augment
      --seed "$seed" --threads "$threads" --generator-workers 1 --no-progress)
if [ "$model" = dpunet ]; then args+=(--model-arg pooling=fusion --model-arg dac=dac2 --model-arg rmp=true); fi
limit=()
if [ -n "${MINUTES:-}" ]; then limit=(timeout --signal=INT "${MINUTES}m"); fi
if [ -f "$run/checkpoints/last.pt" ]; then
  "${limit[@]}" $bin train --out "$run" --resume --threads "$threads" --epochs "$epochs" --no-progress || true
else
  "${limit[@]}" $bin train "${args[@]}" || true
fi
[ -f "$run/checkpoints/best.pt" ] || { echo "no checkpoint in $run" >&2; exit 1; }
if [ "${PACKAGE:-0}" = 1 ]; then
  .venv/bin/python scripts/package_shipped.py --run "$run" \
    --trained-on "phantom patients made on the fly (profile randomised, seed $seed), degraded, 256x256 windows of the whole body at 2.26 mm" \
    --command "bash scripts/train_shipped_model.sh (MODEL=$model PRESET=$preset EPOCHS=$epochs SEED=$seed): scintiseg train ${args[*]}"
fi
