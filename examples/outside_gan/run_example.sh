#!/usr/bin/env bash
# Bring your own GAN: train one outside latentrw (my_gan.py, plain PyTorch), wrap it as a run
# and run the whole post-hoc pipeline on it. Run from the repository root after
# `bash scripts/setup.sh`; writes into runs/outside-gan. About 3 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=runs/outside-gan
mkdir -p "$out"
export PYTHONPATH="$PWD/examples/outside_gan${PYTHONPATH:+:$PYTHONPATH}"   # where my_gan lives
lrw=".venv/bin/latentrw --plugin my_gan:make_generator --plugin my_gan:make_critic"
.venv/bin/python examples/outside_gan/my_gan.py --steps ${STEPS:-3000} --out "$out/my_gan"
.venv/bin/latentrw import-gan "$out/run" --dataset swissroll --z-dim 2 \
  --generator my_gan:make_generator --g-weights "$out/my_gan_G.safetensors" \
  --discriminator my_gan:make_critic --d-weights "$out/my_gan_D.safetensors"
$lrw reweight "$out/run" --steps ${W_STEPS:-1000} --quiet
$lrw calibrate "$out/run" --quiet
$lrw bench synthetic --quick --checkpoints "$out/run" --out "$out/bench"
$lrw report "$out/bench/results.jsonl"
