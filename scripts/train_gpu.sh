#!/usr/bin/env bash
# Trains the shipped generators that a CPU cannot train long, all at once on one GPU, for a fixed
# wall-clock budget: the cnn generators in the paper's width 64 (MNIST and Fashion-MNIST, ns and
# hinge-gp) and the MNIST mlp ns / ns-gm with linear learning-rate decay. Every run holds out the
# last 10,000 training images and keeps in RUN/best the epoch (raw G or its average) of lowest FID
# on them -- never the test split. Then w (bank trainer, seed 0) is learned on each cnn's kept G.
#   bash scripts/train_gpu.sh OUT_ROOT [TRAIN_SECONDS] [W_SECONDS]
# A run stopped by the budget (SIGINT) saves its state first: `latentrw train --resume RUN` goes on.
# ONLY=REGEX trains only the runs whose names match.
# SMOKE=1 runs the same pipeline on the CPU in minutes (one epoch of 10 batches, tiny evaluations).
set -uo pipefail
root=${1:?OUT_ROOT}
train_s=${2:-400}
w_s=${3:-80}
latentrw=${LATENTRW:-latentrw}
device=cuda; cnn_epochs=200; mlp_epochs=(120 150); every=(4 5); n=5000; w_opts=""; smoke=""
if [ "${SMOKE:-0}" = 1 ]; then
  device=cpu; cnn_epochs=1; mlp_epochs=(1 1); every=(1 1); n=200; w_opts="--rounds 1 --critic-steps 2 --w-steps 2 --bank 200"
  smoke="--batch-size 5000"
fi
mkdir -p "$root"
common="--seed 0 --device $device --holdout 10000 --g-ema 0.999 --select fid --eval-n $n --quiet $smoke"
cnn="--model cnn --width 64 --epochs $cnn_epochs --eval-every ${every[0]}"
jobs=("mnist-cnn-hinge-gp|--dataset mnist $cnn --objective hinge-gp"
      "mnist-cnn-ns|--dataset mnist $cnn --objective ns"
      "fashion-mnist-cnn-hinge-gp|--dataset fashion-mnist $cnn --objective hinge-gp"
      "fashion-mnist-cnn-ns|--dataset fashion-mnist $cnn --objective ns"
      "mnist-mlp-ns|--dataset mnist --model mlp --objective ns --lr-decay linear --epochs ${mlp_epochs[0]} --eval-every ${every[1]}"
      "mnist-mlp-ns-gm|--dataset mnist --model mlp --objective ns --prior gm --lr-decay linear --epochs ${mlp_epochs[1]} --eval-every ${every[1]}")
only=${ONLY:-.}  # a regex of the run names to train (all by default)
mapfile -t jobs < <(printf '%s\n' "${jobs[@]}" | grep -E "^[^|]*($only)[^|]*\|")
for job in "${jobs[@]}"; do
  name=${job%%|*}; opts=${job#*|}
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=2 timeout -s INT "$train_s" $latentrw train $common $opts --out "$root/$name" \
    > "$root/$name.log" 2>&1 &
done
wait
for job in "${jobs[@]}"; do
  name=${job%%|*}
  [[ $name == *cnn* && -d $root/$name/best ]] || continue
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=2 timeout -s INT "$w_s" $latentrw reweight "$root/$name/best" --seed 0 --device $device \
    --out "$root/$name/reweight-s0" --quiet --no-figures $w_opts > "$root/$name.w.log" 2>&1 &
done
wait
for job in "${jobs[@]}"; do
  name=${job%%|*}
  echo "== $name: $(tail -n 1 "$root/$name/log.jsonl" 2>/dev/null | cut -c1-160)"
  cat "$root/$name/best/selection.json" 2>/dev/null | head -c 400; echo
  tail -n 2 "$root/$name.log" "$root/$name.w.log" 2>/dev/null
done
