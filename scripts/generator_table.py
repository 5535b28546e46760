"""The generators table: each checkpoint's base samples (a `latentrw bench ... --samplers base` JSONL)
beside its training budget, as markdown rows.

    latentrw bench mnist --checkpoints runs/gen/mnist-mlp-ns-15ep,runs/gen/mnist-mlp-ns-100ep \
        --samplers base --seeds 0,1,2 --n 10000 --metrics fid,prdc,classes --out runs/gen/bench
    python scripts/generator_table.py runs/gen/bench/results.jsonl runs/gen/mnist-mlp-ns-15ep runs/gen/mnist-mlp-ns-100ep

A run's epochs and training seconds come from its log.jsonl (the sum of the logged
epochs' seconds, evaluations excluded); a run kept by model selection names its kept epoch. A
``NEW:OLD`` pair prints one row, each cell the new run's mean with the old run's in brackets (the
README's table).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentrw.stats import mean_ci

COLUMNS = ("fid", "precision", "recall", "density", "coverage", "in_between")


def budget(run: Path) -> str:
    config = json.loads((run / "config.json").read_text())
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    seconds = sum(r["seconds"] for r in log)
    done = log[-1]["epoch"] if log else 0  # a run stopped by a time budget trained fewer than it planned
    epochs = f"{done} epochs" if done == config["epochs"] else f"{done} of {config['epochs']} planned epochs"
    text = f"{epochs}, {seconds / 60:.0f} min"
    selection = run / "selection.json"
    if selection.is_file():
        chosen = json.loads(selection.read_text())["selected"]
        weights = "G's average" if chosen["weights"] == "ema" else "G"
        text += f"; kept: epoch {chosen['epoch']}, {weights}"
    return text


def base_values(records: list[dict], run: Path, results: Path) -> list[dict]:
    base = [r["metrics"] for r in records if r["checkpoint"] == run.name and r["sampler"] == "base"]
    if not base:
        raise SystemExit(f"no base records of {run.name} in {results}")
    return base


def cell(values: list[float]) -> str:
    mean, _, half = mean_ci(values)  # (mean, std, t half-width)
    digits = 1 if abs(mean) >= 10 else 3
    return f"{mean:.{digits}f} ± {half:.{digits}f}" if len(values) > 1 else f"{mean:.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path)
    ap.add_argument("runs", nargs="+", help="run directories, named as in the bench, or NEW:OLD pairs")
    args = ap.parse_args()
    records = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    print("| generator | budget | seeds | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    floor = next(r for r in records if r.get("label", "").startswith("real vs real"))
    print("| real vs real (floor) | | | " + " | ".join(cell([floor["metrics"][c]]) for c in COLUMNS) + " |")
    mean = lambda rows, c: sum(r[c] for r in rows) / len(rows)  # noqa: E731
    for arg in args.runs:
        new, _, old = str(arg).partition(":")
        base, label = base_values(records, Path(new), args.results), budget(Path(new))
        if old:  # one row: the new run's means, the old run's in brackets
            before = base_values(records, Path(old), args.results)
            cells = [f"{cell([mean(base, c)])} ({cell([mean(before, c)])})" for c in COLUMNS]
            label += f" ({budget(Path(old))})"
        else:
            cells = [cell([r[c] for r in base]) for c in COLUMNS]
        print(f"| {Path(new).name} | {label} | {len(base)} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
