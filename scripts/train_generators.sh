#!/usr/bin/env bash
# Trains the shipped MNIST mlp generators to the seed projects' budget (100 epochs) on the first
# 50,000 training images, with a moving average of G, and keeps in RUN/best the epoch (raw G or
# its average) of lowest FID on the held-out last 10,000 training images -- never the test split.
# Two runs at a time, one CPU thread each (a 2-core machine); running it again resumes every run.
#   bash scripts/train_generators.sh [OUT_ROOT] [EPOCHS]
set -euo pipefail
root=${1:-runs/generators}
epochs=${2:-100}
latentrw=${LATENTRW:-.venv/bin/latentrw}
mkdir -p "$root"
common="--dataset mnist --model mlp --epochs $epochs --seed 0 --device cpu --holdout 10000 --g-ema 0.999 \
--select fid --eval-every 10 --eval-n 5000 --quiet"
# Dropout 0.3 in the ns critics keeps G's classes balanced over 100 epochs (docs/results.md); the
# wgan-gp critic, held Lipschitz by its gradient penalty, does not need it.
jobs=("--objective wgan-gp --out $root/mnist-mlp-wgan-gp"
      "--objective ns --dropout 0.3 --out $root/mnist-mlp-ns"
      "--objective ns --dropout 0.3 --prior gm --lr-decay linear --out $root/mnist-mlp-ns-gm")  # decay: as its seed project
printf '%s\n' "${jobs[@]}" | OMP_NUM_THREADS=1 xargs -P 2 -I{} sh -c \
  "/usr/bin/time -f '%e s wall' $latentrw train $common {} >> \"\$(echo '{}' | sed 's/.*--out //')\".log 2>&1 || echo 'FAILED: {}'"
echo "done: $root"
