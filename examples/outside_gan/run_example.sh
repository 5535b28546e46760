#!/usr/bin/env bash
# Bring your own GAN: train one outside latentrw (my_gan.py, plain PyTorch), wrap it as a run
# and run the whole post-hoc pipeline on it. Run from the repository root after
# `bash scripts/setup.sh`; writes into runs/outside-gan. About 3 minutes on 2 CPU cores.
# MAPPING=1: a StyleGAN-shaped G (mapping z -> W, synthesis on W); w is learnt on W, behind the
# frozen mapping (writes into runs/outside-gan-mapping).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD/examples/outside_gan${PYTHONPATH:+:$PYTHONPATH}"   # where my_gan lives
lrw=".venv/bin/latentrw --plugin my_gan:make_generator --plugin my_gan:make_critic"
if [[ "${MAPPING:-0}" == 1 ]]; then
  out=runs/outside-gan-mapping
  lrw="$lrw --plugin my_gan:make_mapping"
  train_flags=(--mapping)
  mapping=(--mapping my_gan:make_mapping --mapping-weights "$out/my_gan_mapping.safetensors" --g-kwargs '{"z_dim": 8}')
else
  out=runs/outside-gan
  train_flags=()
  mapping=()
fi
rm -rf "$out" && mkdir -p "$out"   # the example retrains G, so its old results do not apply
.venv/bin/python examples/outside_gan/my_gan.py --steps ${STEPS:-3000} --out "$out/my_gan" "${train_flags[@]}"
.venv/bin/latentrw import-gan "$out/run" --dataset swissroll --z-dim 2 \
  --generator my_gan:make_generator --g-weights "$out/my_gan_G.safetensors" \
  --discriminator my_gan:make_critic --d-weights "$out/my_gan_D.safetensors" "${mapping[@]}"
$lrw reweight "$out/run" --rounds ${W_ROUNDS:-20} --quiet
$lrw calibrate "$out/run" --quiet
$lrw bench synthetic --quick --checkpoints "$out/run" --out "$out/bench"
$lrw report "$out/bench/results.jsonl"
