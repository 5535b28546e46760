"""Print the README's training table from run directories and copy their last sample grids.
Metrics come from ROOT/results.jsonl when `scripts/evaluate_table.sh ROOT` has written it.

    python scripts/table_from_runs.py runs/table docs/images
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PIL import Image


def _metrics(root: Path) -> dict[str, dict]:
    """Latest evaluation of each run directory, keyed by its name."""
    out = {}
    results = root / "results.jsonl"
    if results.is_file():
        for line in results.read_text().splitlines():
            rec = json.loads(line)
            out[Path(rec["source"]).name] = rec["metrics"]
    return out


def main(root: Path, images: Path) -> None:
    images.mkdir(parents=True, exist_ok=True)
    metrics = _metrics(root)
    print("| objective | prior | epochs | G steps | CPU seconds | FID | precision | recall | in-between "
          "| samples (last epoch) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in sorted(p for p in root.iterdir() if (p / "log.jsonl").is_file()):
        cfg = json.loads((run / "config.json").read_text())
        log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
        last = log[-1]
        grid = run / "samples" / f"epoch_{last['epoch']:04d}.png"
        img = Image.open(grid)
        img = img.resize((img.width // 2, img.height // 2), Image.NEAREST)  # grids are saved 2x
        target = images / f"{run.name}.png"
        img.save(target, optimize=True)
        seconds = sum(r["seconds"] for r in log)
        g_steps = last["step"] // cfg["n_critic"]
        m = metrics.get(run.name)
        scores = (f"{m['fid']:.1f} | {m['precision']:.3f} | {m['recall']:.3f} | {m['in_between']:.3f}" if m
                  else "– | – | – | –")
        print(f"| `{cfg['objective']}` | `{cfg['prior']}` | {last['epoch']} | {g_steps} | {seconds:.0f} | "
              f"{scores} | ![{run.name}]({target.as_posix()}) |")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
