"""The acceptance dial's precision/recall curve: latentRS with c solved for each target
acceptance a (one trained w), 10k samples per point, P/R (k=3) and in-between rate on the
classifier's features; the base generator is a = 1 with w ignored. Writes DIR/dial.json and DIR/dial.png.

    python scripts/dial_curve.py runs/table/mnist-mlp-ns --w-dir runs/table/mnist-mlp-ns/reweight-s0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentrw.data import as_exported
from latentrw.metrics.evaluate import evaluate_samples, reference
from latentrw.run import load_run
from latentrw.sample import draw, make_sampler

LEVELS = (1.0, 0.8, 0.6, 0.45, 1 / 3, 0.25, 0.15, 0.1, 0.05)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("--w-dir", type=Path, default=None)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="[W_DIR/figures]")
    args = ap.parse_args()
    run = load_run(args.run)
    w_dir = args.w_dir or args.run / "reweight"
    out = args.out or w_dir / "figures"
    out.mkdir(parents=True, exist_ok=True)
    ref = reference(run.config.dataset)
    metrics = ("prdc", "classes") if ref.data.kind == "image" else ("prdc", "emd")
    points = []
    for a in LEVELS:
        sampler = make_sampler("base" if a == 1.0 else "latent-rs", run, args.run, w_dir,
                               **({} if a == 1.0 else {"acceptance": a}))
        batch = draw(sampler, run, args.n, args.seed)
        values = evaluate_samples(as_exported(batch.x), run.config.dataset, metrics, args.seed, ref=ref)
        points.append({"acceptance": a, "measured_acceptance": args.n / batch.cost.proposals,
                       **{k: v for k, v in values.items() if isinstance(v, float)}})
        print(json.dumps(points[-1]), flush=True)
    (out / "dial.json").write_text(json.dumps(points, indent=1))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    ax.plot([p["recall"] for p in points], [p["precision"] for p in points], "o-")
    for p in points:
        ax.annotate(f"{p['acceptance']:.2f}", (p["recall"], p["precision"]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.set(xlabel="recall", ylabel="precision", title=f"acceptance dial: {args.run.name} (label: acceptance)")
    ax.title.set_fontsize(8)
    fig.savefig(out / "dial.png", bbox_inches="tight", dpi=110)
    print(f"wrote {out / 'dial.json'} and {out / 'dial.png'}")


if __name__ == "__main__":
    main()
