#!/usr/bin/env bash
# Rebuild the model shipped in src/scintiseg/weights/phantom_dpunet.pt, from nothing but this repository.
# A small DPU-Net (paper A: fusion pooling + DAC_2 + RMP, preset "small") trained on single-view (ANT)
# thoracic crops of
# synthetic phantom patients. Deterministic on CPU for a given seed (the run is seeded end to end).
#
#   bash scripts/train_shipped_model.sh [WORKDIR]       (default WORKDIR: runs/shipped)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-runs/shipped}
bin=.venv/bin/scintiseg
patients=${PATIENTS:-120}
epochs=${EPOCHS:-40}
seed=${SEED:-2024}

[ -f "$work/phantom/dataset.json" ] || $bin phantom --patients "$patients" --seed "$seed" --out "$work/phantom"
[ -f "$work/crops/dataset.json" ] || $bin dataset crop "$work/phantom" --out "$work/crops"
[ -f "$work/crops/splits.json" ] || $bin dataset split "$work/crops" --test 0.15 --seed "$seed"
train=(train --data "$work/crops" --out "$work/run" --model dpunet
       --model-arg preset=small --model-arg pooling=fusion --model-arg dac=dac2 --model-arg rmp=true
       --input-mode ant --normalisation percentile --loss dice_bce
       --epochs "$epochs" --batch-size 8 --lr 1e-3 --augment --seed "$seed" --no-progress)
if [ -f "$work/run/checkpoints/last.pt" ]; then $bin train --out "$work/run" --resume --no-progress; else $bin "${train[@]}"; fi
$bin evaluate --run "$work/run" --split test --overlays 4
.venv/bin/python -m scintiseg.predict.shipped --run "$work/run" \
  --trained-on "$patients phantom patients (profile default, seed $seed), thoracic crops 256x256, $epochs epochs" \
  --command "bash scripts/train_shipped_model.sh (PATIENTS=$patients EPOCHS=$epochs SEED=$seed): scintiseg ${train[*]}"
