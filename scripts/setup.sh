#!/usr/bin/env bash
# Set up latentrw from a fresh clone: a virtual environment in .venv with the CPU build of
# PyTorch and the package, Debian's Fashion-MNIST where apt-get is available, and the
# MNIST / Fashion-MNIST caches. Idempotent: a second run reuses what is there.
#   TORCH_SPEC   pip arguments that install torch first  (default: torch==2.13.0; e.g. for CUDA
#                "torch --index-url https://download.pytorch.org/whl/cu124")
#   PYTHON       the interpreter that creates .venv       (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
torch_spec=${TORCH_SPEC:-torch==2.13.0}

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "== installing $torch_spec"
  # shellcheck disable=SC2086  # split on purpose: TORCH_SPEC may carry pip options (--index-url URL)
  pip install $torch_spec
fi
echo "== installing latentrw (editable) and the test tools"
pip install -e ".[test]"
.venv/bin/python -c "import latentrw, torch; print('latentrw', latentrw.__version__, '/ torch', torch.__version__)"

# Fashion-MNIST's offline route is Debian's package; elsewhere the loader downloads it.
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "== apt-get install dataset-fashion-mnist"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
      || echo "warning: apt-get could not install dataset-fashion-mnist; the loader will try the mirrors"
  else
    echo "note: for offline Fashion-MNIST run 'sudo apt-get install dataset-fashion-mnist', or pass"
    echo "      'latentrw data prepare fashion-mnist --source-dir DIR' with the four IDX files"
  fi
fi
echo "== preparing datasets"
.venv/bin/latentrw data prepare mnist fashion-mnist
