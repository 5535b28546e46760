"""The mean and paired tables of bench records merged from several JSONL files: one bench per seed, run
in parallel, or seeds run in different sessions. The files the docs' per-seed tables come from are
kept in results/ (records only; the grids they name stay with the runs).

A sweep record (drawn on its bench's first seed) becomes a row of its own label, e.g.
``latent-rs-ga steps=3``, so that benches of one seed each with the same ``--sweep`` pair it with base
over all their seeds. A GA sampler's record that ran the steps tuned for its w (``models.ga_steps``,
``latentrw tune-ga``) becomes ``latent-rs-ga tuned``, apart from the same sampler at its default 10
steps. A record repeated across files (the real-vs-real floor or base) counts once.

    python scripts/paired_tables.py results/w-per-seed/mnist-cnn-ns-d3.jsonl
    python scripts/paired_tables.py runs/s1/results.jsonl runs/s2/results.jsonl --merge results/x.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentrw.report import load_results, markdown_table, paired_table, summarise

GA_SAMPLERS = ("latent-ga", "latent-rs-ga")


def merged(paths: list[Path]) -> list[dict]:
    """The records of ``paths`` in order, sweep records relabelled as rows, repeats dropped."""
    out, seen = [], set()
    for path in paths:
        for rec in load_results(path):
            if "knob" in rec:
                rec = {k: v for k, v in rec.items() if k not in ("knob", "value")}
            elif rec["sampler"] in GA_SAMPLERS and rec.get("models", {}).get("ga_steps") is not None:
                rec = {**rec, "label": f"{rec['sampler']} tuned"}
            key = (rec.get("checkpoint", rec["source"]), rec.get("label") or rec["sampler"], rec["seed"])
            if key not in seen:
                seen.add(key)
                out.append(rec)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+", help="bench results.jsonl files")
    parser.add_argument("--merge", type=Path, help="also write the merged records here (JSONL)")
    args = parser.parse_args()
    recs = merged(args.results)
    if args.merge:
        args.merge.parent.mkdir(parents=True, exist_ok=True)
        args.merge.write_text("".join(json.dumps(r) + "\n" for r in recs))
    for ckpt, rows in summarise(recs).items():
        seeds = sorted({r["seed"] for r in recs if r.get("checkpoint", r["source"]) == ckpt and r["sampler"] != "real"})
        print(f"## {ckpt} (seeds {', '.join(map(str, seeds))})\n\n{markdown_table(rows)}\n\n{paired_table(rows)}\n")


if __name__ == "__main__":
    main()
