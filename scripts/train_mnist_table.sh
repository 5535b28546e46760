#!/usr/bin/env bash
# Trains the MNIST mlp GAN with every objective (and the GM-GAN prior) for the README table.
# Two runs at a time, one CPU thread each (a 2-core machine). Usage:
#   bash scripts/train_mnist_table.sh [EPOCHS] [OUT_ROOT]
set -euo pipefail
epochs=${1:-15}
root=${2:-runs/table}
latentrw=${LATENTRW:-.venv/bin/latentrw}
mkdir -p "$root"
jobs=()
for obj in wgan-gp hinge-gp wgan ns fgan-kl fgan-reverse-kl fgan-pearson fgan-squared-hellinger fgan-js fgan-gan; do
  jobs+=("--objective $obj --out $root/mnist-mlp-$obj")
done
jobs+=("--objective ns --prior gm --out $root/mnist-mlp-ns-gm")
printf '%s\n' "${jobs[@]}" | OMP_NUM_THREADS=1 xargs -P 2 -I{} sh -c \
  "$latentrw train --dataset mnist --model mlp --epochs $epochs --seed 0 --device cpu --quiet {} > \"\$(echo '{}' | sed 's/.*--out //')\".log 2>&1 || echo 'FAILED: {}'"
echo "done: $root"
