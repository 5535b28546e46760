#!/usr/bin/env bash
# The paper's Table 1 setting: WGAN-GP toy GANs on 25 Gaussians and the Swiss roll, then latent
# reweighting over seeds (each seed retrains w and its critic on the same G) with EMD and P/R.
# Two datasets at a time, one CPU thread each. Usage:
#   bash scripts/table1_2d.sh [EPOCHS] [OUT_ROOT] [SEEDS]
set -euo pipefail
epochs=${1:-100}
root=${2:-runs/t1}
seeds=${3:-0,1,2}
py=${PYTHON:-.venv/bin/python}
mkdir -p "$root"
export OMP_NUM_THREADS=1
for ds in 25gaussians swissroll; do
  ( "$py" -m latentrw.cli train --dataset "$ds" --model toy --objective wgan-gp --epochs "$epochs" --seed 0 \
      --device cpu --quiet --out "$root/$ds" \
    && "$py" scripts/reweight_seeds.py "$root/$ds" --seeds "$seeds" --metrics emd,prdc ) > "$root/$ds.log" 2>&1 &
done
wait
for ds in 25gaussians swissroll; do tail -n 8 "$root/$ds.log"; done
