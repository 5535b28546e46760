"""How the exact EMD between two samples of MNIST classifier features depends on the
sample size n -- the bias of the subsampled EMD the evaluation uses beyond 2,500 points.

Real-vs-real: n held-out training images (the last 10k, unseen by the classifier) against n
test images, exact OT (POT's network simplex), ``repeats`` random draws per n.

    python benchmarks/emd_subsampling.py [--sizes 500 1000 2500 5000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from latentrw.features.classifier import HELDOUT_SPLIT
from latentrw.metrics.emd import emd
from latentrw.metrics.evaluate import reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2500, 5000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ref = reference(args.dataset)
    train_feats, _ = ref.extractor(ref.data.model_input("train")[HELDOUT_SPLIT])
    test_feats = ref.features.numpy()
    train_feats = train_feats.numpy()
    rng = np.random.default_rng(0)
    print(f"{'n':>6} {'EMD mean':>9} {'std':>7} {'s/solve':>8}")
    for n in args.sizes:
        values, start = [], time.perf_counter()
        for _ in range(args.repeats):
            a = train_feats[rng.choice(len(train_feats), n, replace=False)]
            b = test_feats[rng.choice(len(test_feats), n, replace=False)]
            values.append(emd(a, b))
        print(f"{n:>6} {np.mean(values):>9.3f} {np.std(values):>7.3f} {(time.perf_counter() - start) / args.repeats:>8.1f}",
              flush=True)


if __name__ == "__main__":
    main()
