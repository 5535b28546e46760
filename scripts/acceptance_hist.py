"""Acceptance histograms (latentrw.acceptance): for each selecting sampler, the scores of the
proposals it accepted against those it rejected (latent-rs, latent-rs-ga, latent-sir: w(z);
drs, sir: the calibrated logit d(x)). Writes OUT/acceptance_hist.png and the counts in
OUT/acceptance_hist.json.

    python scripts/acceptance_hist.py runs/table/mnist-mlp-ns --w-dir runs/table/mnist-mlp-ns/reweight-s0 \
        --calibrated-dir runs/table/mnist-mlp-ns/calibrated-s0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentrw.acceptance import SELECTING, acceptance_histogram, plot_acceptance_histograms
from latentrw.run import load_run
from latentrw.sample import make_sampler
from latentrw.samplers.base import ProposalStream


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("--samplers", default="latent-rs,latent-sir,drs,sir")
    ap.add_argument("--w-dir", type=Path, default=None, help="[RUN/reweight]")
    ap.add_argument("--calibrated-dir", type=Path, default=None, help="[RUN/calibrated]")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="[RUN/figures]")
    args = ap.parse_args()
    names = args.samplers.split(",")
    unknown = [s for s in names if s not in SELECTING]
    if unknown:
        raise SystemExit(f"not a selecting sampler: {', '.join(unknown)}; choose from {', '.join(SELECTING)}")
    run = load_run(args.run)
    hists = []
    for name in names:
        sampler = make_sampler(name, run, args.run, args.w_dir, calibrated_dir=args.calibrated_dir)
        stream = ProposalStream.from_seed(run.prior, args.seed)  # the proposals of sample.draw
        hists.append(acceptance_histogram(sampler, args.n, stream)[0] | {"seed": args.seed})
        print(f"{name:<13} acceptance {hists[-1]['acceptance']:.4f} ({hists[-1]['proposals']} proposals)", flush=True)
    out = args.out or args.run / "figures"
    out.mkdir(parents=True, exist_ok=True)
    (out / "acceptance_hist.json").write_text(json.dumps(hists, indent=1))
    plot_acceptance_histograms(hists, out / "acceptance_hist.png", f"{args.run.name}: scores of accepted vs "
                               f"rejected proposals ({args.n} samples, seed {args.seed})")
    print(f"wrote {out / 'acceptance_hist.png'} and {out / 'acceptance_hist.json'}")


if __name__ == "__main__":
    main()
