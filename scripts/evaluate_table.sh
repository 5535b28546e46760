#!/usr/bin/env bash
# Evaluates every run of the MNIST objective table (N=10,000 samples, seed 0, vs the test set).
#   bash scripts/evaluate_table.sh [ROOT]      -> ROOT/results.jsonl
set -euo pipefail
root=${1:-runs/table}
latentrw=${LATENTRW:-.venv/bin/latentrw}
for run in "$root"/mnist-mlp-*/; do
  "$latentrw" evaluate "$run" --n 10000 --seed 0 --no-floor --results "$root/results.jsonl" > /dev/null 2>&1 \
    || echo "FAILED: $run"
  echo "evaluated $run"
done
