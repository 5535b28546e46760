"""What a trained w selects on an image generator, per class: the measurement behind the results'
account of why latentRS can lower the FID while precision falls and the in-between rate rises.

Draws ``--n`` latents from the prior, generates them, and weighs each by latentRS's acceptance
probability min(1, w(z)/c) (c as the sampler sets it): the weighted set is the distribution
latentRS samples from, without the rejection noise. Against the test split, in the shipped
classifier's features, it prints per predicted class:

- the class's share under base and under latentRS, and the class's mean w;
- the in-between rate and the precision membership (a sample counts when it falls inside some
  test image's k-nearest-neighbour ball, as precision counts it) under base and under latentRS;
- the within-class Spearman correlation of w with the classifier's top probability.

Then it splits each total change, base → latentRS, into a *class-mix* part (latentRS's class
shares with base's per-class rates, minus base) and a *within-class* part (latentRS's shares times
the change of each class's rate): what w does by redrawing the classes, and what it does by
choosing among one class's samples.

    python experiments/w_selects.py src/latentrw/checkpoints/mnist-mlp-ns src/latentrw/checkpoints/mnist-mlp-ns/reweight
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from scipy.stats import spearmanr

from latentrw.metrics.classes import top_probability
from latentrw.metrics.evaluate import PROTOCOL, reference
from latentrw.metrics.prdc import _as64, pairwise_distances
from latentrw.reweight import load_w
from latentrw.run import load_run
from latentrw.samplers.latent import LatentRS


def in_precision_ball(real: torch.Tensor, fake: torch.Tensor, radii: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
    """Per fake sample: inside some real point's k-th neighbour ball (what precision averages)."""
    real, fake = _as64(real), _as64(fake)
    inside = torch.zeros(len(fake), dtype=torch.bool)
    for start in range(0, len(real), chunk):
        d = pairwise_distances(real[start:start + chunk], fake)
        inside |= (d < radii[start:start + chunk, None]).any(0)
    return inside


def weighted_rate(flag: torch.Tensor, weight: torch.Tensor) -> float:
    return float((flag.double() * weight).sum() / weight.sum()) if weight.sum() > 0 else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("w_dir", type=Path)
    ap.add_argument("--n", type=int, default=20_000, help="latents drawn (default 20,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    run = load_run(args.run)
    w = load_w(args.w_dir)
    dataset = run.config.dataset
    ref = reference(dataset)
    rs = LatentRS(w).fit(run)
    g = torch.Generator().manual_seed(args.seed)
    z = run.prior.sample(args.n, g)
    with torch.no_grad():
        x = torch.cat([run.G(zb) for zb in z.split(1000)])
        wz = torch.cat([w(zb) for zb in z.split(10_000)]).double()
    feats, logits = ref.extractor(x)
    cls = logits.argmax(1)
    top = top_probability(logits)
    between = top < ref.threshold
    ks = PROTOCOL["k_precision_recall"], PROTOCOL["k_density_coverage"]
    inside = in_precision_ball(ref.features, feats, ref.radii(*ks)[:, 0])

    base_w = torch.ones(args.n, dtype=torch.float64)
    rs_w = torch.clamp(wz / rs.c_, max=1)
    rows = []
    for c in range(logits.shape[1]):
        sel = cls == c
        rho = spearmanr(wz[sel].numpy(), top[sel].numpy()).statistic if sel.sum() > 2 else float("nan")
        rows.append({"class": c, "share_base": float(sel.double().mean()),
                     "share_rs": float(rs_w[sel].sum() / rs_w.sum()), "mean_w": float(wz[sel].mean()),
                     "in_between_base": weighted_rate(between[sel], base_w[sel]),
                     "in_between_rs": weighted_rate(between[sel], rs_w[sel]),
                     "precision_base": weighted_rate(inside[sel], base_w[sel]),
                     "precision_rs": weighted_rate(inside[sel], rs_w[sel]), "spearman_w_top": float(rho)})

    flags = {"in_between": between, "precision": inside}

    def split(key: str) -> dict:
        base, rs_total = weighted_rate(flags[key], base_w), weighted_rate(flags[key], rs_w)
        mix = sum(r["share_rs"] * r[f"{key}_base"] for r in rows if r["share_base"] > 0) - base
        within = sum(r["share_rs"] * (r[f"{key}_rs"] - r[f"{key}_base"]) for r in rows if r["share_base"] > 0)
        return {"base": base, "latent_rs": rs_total, "class_mix": mix, "within_class": within}

    out = {"run": str(args.run), "w_dir": str(args.w_dir), "n": args.n, "seed": args.seed,
           "acceptance": float(rs_w.mean()), "classes": rows,
           "in_between": split("in_between"), "precision": split("precision")}
    print(f"{args.run.name}: {args.n} latents, latentRS acceptance {out['acceptance']:.3f}\n")
    print("| class | share base | share latentRS | mean w | in-between base → latentRS | "
          "precision base → latentRS | Spearman(w, top prob.) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['class']} | {r['share_base']:.3f} | {r['share_rs']:.3f} | {r['mean_w']:.2f} | "
              f"{r['in_between_base']:.3f} → {r['in_between_rs']:.3f} | "
              f"{r['precision_base']:.3f} → {r['precision_rs']:.3f} | {r['spearman_w_top']:+.2f} |")
    print()
    for key in ("in_between", "precision"):
        s = out[key]
        print(f"{key}: base {s['base']:.3f} → latentRS {s['latent_rs']:.3f} "
              f"(class mix {s['class_mix']:+.3f}, within classes {s['within_class']:+.3f})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
