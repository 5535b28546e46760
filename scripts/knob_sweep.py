"""Trade-off curves: sweep each sampler's main knob on one trained run and plot precision
against recall (and quality against cost), the base generator as the reference point.

    python scripts/knob_sweep.py runs/table/mnist-mlp-ns --w-dir runs/table/mnist-mlp-ns/reweight-s0 \
        --calibrated-dir runs/table/mnist-mlp-ns/calibrated-s0 \
        --sweep latent-rs:acceptance=0.8,0.6,0.45,0.333,0.25,0.15,0.1,0.05 \
        --sweep drs:gamma=-8,-5,-2,0,2,4 --sweep truncation:psi=0.5,0.9,1.5,2.0

``--sweep SAMPLER:KNOB=V1,V2,...`` is repeatable; ``latent-rs:acceptance`` is the acceptance
dial (c solved on a pilot batch so the mean acceptance is a, one trained w). Each point draws
N samples with the same seed and is evaluated against the test split (images: FID, P/R with
k=3, density/coverage, in-between rate; 2-D: P/R and EMD). One JSONL record per point in
OUT/sweep.jsonl (finished points are skipped, so re-running resumes); OUT/sweep.png is drawn
from that file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentrw.data import as_exported
from latentrw.fileio import drop_partial_line
from latentrw.metrics.evaluate import append_jsonl, evaluate_samples, record, reference
from latentrw.run import load_run
from latentrw.sample import draw, make_sampler
from latentrw.specs import parse_sweep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("--sweep", action="append", required=True, help="SAMPLER:KNOB=V1,V2,... (repeatable)")
    ap.add_argument("--w-dir", type=Path, default=None, help="[RUN/reweight]")
    ap.add_argument("--calibrated-dir", type=Path, default=None, help="[RUN/calibrated]")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="[RUN/sweep]")
    args = ap.parse_args()
    try:
        sweeps = [parse_sweep(s) for s in args.sweep]
    except ValueError as exc:
        raise SystemExit(f"--sweep {exc}") from exc
    out = args.out or args.run / "sweep"
    out.mkdir(parents=True, exist_ok=True)
    results = out / "sweep.jsonl"
    drop_partial_line(results)  # a killed run may have left half a record
    done = {(r["sampler"], r["knob"], r["value"], r["seed"], r["n"]) for r in map(json.loads, results.read_text().splitlines())} \
        if results.is_file() else set()

    run = load_run(args.run)
    ref = reference(run.config.dataset)
    metrics = ("fid", "prdc", "classes") if ref.data.kind == "image" else ("prdc", "emd")
    points = [("base", "", 0)] + [(name, knob, v) for name, knob, values in sweeps for v in values]
    for name, knob, value in points:
        if (name, knob, value, args.seed, args.n) in done:
            continue
        sampler = make_sampler(name, run, args.run, args.w_dir, calibrated_dir=args.calibrated_dir,
                               **({knob: value} if knob else {}))
        batch = draw(sampler, run, args.n, args.seed)
        values = evaluate_samples(as_exported(batch.x), run.config.dataset, metrics, args.seed, ref=ref)
        cost = batch.cost.per_sample(args.n) | {"seconds": batch.cost.seconds}
        append_jsonl(results, record(run.config.dataset, str(args.run.resolve()), name, args.seed, args.n, values,
                                     ref, knob=knob, value=value, sampler_options=sampler.params(), cost=cost))
        print(f"{name:<12} {f'{knob}={value:g}' if knob else '':<16} proposals/sample={cost['proposals']:.3g} "
              + " ".join(f"{k}={v:.4f}" for k, v in values.items() if isinstance(v, float)), flush=True)
    plot(results, out / "sweep.png", f"{args.run.name}, {args.n} samples, seed {args.seed}", args.seed, args.n)


def plot(results: Path, path: Path, title: str, seed: int, n: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [r for r in map(json.loads, results.read_text().splitlines()) if r["seed"] == seed and r["n"] == n]
    for r in recs:  # flatten: metrics and cost per sample side by side
        r.update(r.pop("metrics"), ms=r["cost"]["ms"])
    quality = "in_between" if "in_between" in recs[0] else "emd"
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10.5, 4), layout="constrained")
    for name, knob in dict.fromkeys((r["sampler"], r["knob"]) for r in recs):  # one line per (sampler, knob)
        rs = sorted((r for r in recs if (r["sampler"], r["knob"]) == (name, knob)), key=lambda r: r["value"])
        style = dict(marker="*", ms=12, ls="none", color="k") if name == "base" else dict(marker="o")
        label = name if name == "base" else f"{name} ({knob})"
        ax.plot([r["recall"] for r in rs], [r["precision"] for r in rs], label=label, **style)
        bx.plot([r["ms"] for r in rs], [r[quality] for r in rs], label=label, **style)
        if name != "base":
            for r in rs:
                ax.annotate(f"{r['value']:g}", (r["recall"], r["precision"]), fontsize=6, xytext=(3, 2),
                            textcoords="offset points")
    ax.set(xlabel="recall (k=3)", ylabel="precision (k=3)", title="precision / recall; label: knob value")
    bx.set(xscale="log", xlabel="ms per sample (this machine)", ylabel=quality.replace("_", "-") + " (lower is better)",
           title="quality vs cost")
    ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, bbox_inches="tight", dpi=110)
    print(f"wrote {results} and {path}")


if __name__ == "__main__":
    main()
