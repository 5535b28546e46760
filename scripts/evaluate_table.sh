#!/usr/bin/env bash
# Evaluates every run of the MNIST objective table (N=10,000 samples, seed 0, vs the test set).
#   bash scripts/evaluate_table.sh [ROOT]      -> ROOT/results.jsonl, one log per run in ROOT/NAME.eval.log
set -euo pipefail
root=${1:-runs/table}
latentrw=${LATENTRW:-.venv/bin/latentrw}
fail=0
for run in "$root"/mnist-mlp-*/; do
  run=${run%/}
  if "$latentrw" evaluate "$run" --n 10000 --seed 0 --no-floor --results "$root/results.jsonl" > "$run.eval.log" 2>&1; then
    echo "evaluated $run"
  else
    echo "FAILED: $run (see $run.eval.log)"
    fail=1
  fi
done
exit $fail
