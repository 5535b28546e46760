"""Training curves: the ``--eval-every`` metrics of a run's ``log.jsonl`` over epochs, G and its
weight average side by side, with the candidate that model selection kept marked."""

from __future__ import annotations

import json
from pathlib import Path

from latentrw.figures import pyplot, save_figure
from latentrw.run import LOG
from latentrw.selection import BEST_DIR, SELECTION_FILE

PANELS = (("fid", "FID", True), ("precision", "precision", False), ("recall", "recall", False),
          ("in_between", "in-between rate", False))
SERIES = (("metrics", "G", "tab:blue"), ("metrics_ema", "G average", "tab:orange"))


def plot_curves(run_dir: Path | str, path: Path | str | None = None) -> Path | None:
    """Draw ``RUN/curves.png`` (or ``path``) from the evaluations in ``RUN/log.jsonl``; None when
    the run logged none."""
    run_dir = Path(run_dir)
    records = [json.loads(line) for line in (run_dir / LOG).read_text().splitlines() if line.strip()]
    records = [r for r in records if "metrics" in r]
    if not records:
        return None
    selection = run_dir / BEST_DIR / SELECTION_FILE
    record = json.loads(selection.read_text()) if selection.is_file() else {}
    chosen = record.get("selected")
    panels = [p for p in PANELS if p[0] in records[0]["metrics"]]
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.0))
    for ax, (key, title, log_scale) in zip(list(axes) if len(panels) > 1 else [axes], panels):
        for field, label, colour in SERIES:
            points = [(r["epoch"], r[field][key]) for r in records if field in r and key in r[field]]
            if points:
                ax.plot(*zip(*points), marker="o", ms=3, label=label, color=colour)
        if chosen and chosen.get("epoch") is not None:
            field = "metrics" if chosen.get("weights", "raw") == "raw" else "metrics_ema"
            kept = [r[field][key] for r in records if r["epoch"] == chosen["epoch"] and field in r]
            if kept:
                ax.plot([chosen["epoch"]], kept, marker="*", ms=14, color="black", ls="none", label="kept")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        if log_scale:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{run_dir.name}: against {record.get('reference') or 'the evaluation reference'}", fontsize=9, y=1.04)
    fig.axes[0].legend(fontsize=8)
    return save_figure(fig, Path(path) if path else run_dir / "curves.png")
