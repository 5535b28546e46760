"""The report's plots: time per image against precision (the paper's Fig. 3), precision
against recall, trade-off curves along swept knobs, class histograms, the sample overview and
the training log.

Points are told apart by a marker and colour per sampler (the same in every plot) and a legend
beside the axes, never by text next to the points, which overlaps as soon as samplers agree.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from latentrw.figures import pyplot, save_figure

_MARKERS = "osD^vPXph<>d8"  # "*" is the floor's


def sampler_style(label: str, order: list[str]) -> dict:
    """A sampler's marker and colour: its position in ``order`` (the report's row order), so a
    sampler looks the same in every plot of a checkpoint; the floor is a black star."""
    if label.startswith("real vs real"):
        return {"marker": "*", "color": "k", "ms": 10}
    i = order.index(label) if label in order else len(order)
    return {"marker": _MARKERS[i % len(_MARKERS)], "color": f"C{i % 10}", "ms": 6}


def _legend_beside(ax) -> None:
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False)


def _errorbar_figure(rows: list[dict], x_key: str, y_key: str, title: str):
    """Every row with both figures as a point with its 95 % CIs as error bars, in its sampler's style."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    order = [r["label"] for r in rows]
    for r in rows:
        if x_key in r and y_key in r:
            (x, xe), (y, ye) = r[x_key], r[y_key]
            ax.errorbar(x, y, xerr=_finite(xe), yerr=_finite(ye), ls="none", capsize=2, label=r["label"],
                        **sampler_style(r["label"], order))
    ax.set(title=title)
    ax.title.set_fontsize(9)
    return fig, ax


def pareto_figure(rows: list[dict], title: str):
    """Time per accepted image against precision (paper Fig. 3), with the floor's precision as a line."""
    fig, ax = _errorbar_figure(rows, "ms", "precision", title)
    floor = next((r for r in rows if r["sampler"] == "real"), None)
    if floor and "precision" in floor:
        ax.axhline(floor["precision"][0], color="0.5", ls="--", lw=0.8, label="real vs real")
    ax.set(xscale="log", xlabel="ms per accepted image (log)", ylabel="precision (k=3)")
    # under two decades matplotlib labels the minor ticks too, and their labels run into each other
    ax.xaxis.set_minor_formatter(pyplot().NullFormatter())
    _legend_beside(ax)
    return fig


def precision_recall_figure(rows: list[dict], title: str):
    """Recall against precision; the floor is the black star."""
    fig, ax = _errorbar_figure(rows, "recall", "precision", title)
    ax.set(xlabel="recall (k=3)", ylabel="precision (k=3)")
    _legend_beside(ax)
    return fig


def plot_pareto(rows: list[dict], path: Path, title: str) -> Path:
    return save_figure(pareto_figure(rows, title), path)


def plot_precision_recall(rows: list[dict], path: Path, title: str) -> Path:
    return save_figure(precision_recall_figure(rows, title), path)


def _finite(e: float) -> float:
    return e if math.isfinite(e) else 0.0


def plot_tradeoffs(recs: list[dict], path: Path, title: str) -> Path | None:
    """Precision against recall along each swept knob (records with ``knob``), with the base
    sampler and each swept sampler at its defaults on the same seed marked beside them."""
    sweeps = [r for r in recs if "knob" in r and {"precision", "recall"} <= set(r["metrics"])]
    if not sweeps:
        return None
    seed = sweeps[0]["seed"]
    same_seed = {r["label"]: r["metrics"] for r in recs if "knob" not in r and r["seed"] == seed}
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name in dict.fromkeys(r["sampler"] for r in sweeps):
        pts = sorted((r for r in sweeps if r["sampler"] == name), key=lambda r: r["value"])
        line, = ax.plot([r["metrics"]["recall"] for r in pts], [r["metrics"]["precision"] for r in pts], "o-",
                        ms=4, label=f"{name} ({pts[0]['knob']})")
        for r in pts:
            ax.annotate(f"{r['value']:g}", (r["metrics"]["recall"], r["metrics"]["precision"]), fontsize=6,
                        xytext=(3, 2), textcoords="offset points")
        if "recall" in same_seed.get(name, {}):
            ax.plot(same_seed[name]["recall"], same_seed[name]["precision"], "s", color=line.get_color(), ms=6)
    if "recall" in same_seed.get("base", {}):
        ax.plot(same_seed["base"]["recall"], same_seed["base"]["precision"], "*", color="k", ms=12, label="base")
    ax.set(xlabel="recall (k=3)", ylabel="precision (k=3)", title=title)
    ax.title.set_fontsize(9)
    _legend_beside(ax)
    return save_figure(fig, path)


def plot_class_histograms(recs: list[dict], path: Path, title: str) -> Path | None:
    """Fraction of samples per predicted class, first seed of each sampler."""
    first = {}
    for r in recs:
        if "class_histogram" in r["metrics"]:
            first.setdefault(r.get("label") or r["sampler"], r["metrics"]["class_histogram"])
    if not first:
        return None
    plt = pyplot()
    k = len(next(iter(first.values())))
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(first) * k / 4), 3.5))
    width = 0.8 / len(first)
    for i, (label, hist) in enumerate(first.items()):
        ax.bar([c + i * width for c in range(k)], hist, width=width, label=label)
    ax.axhline(1 / k, color="k", lw=0.8, ls="--")
    ax.set(xticks=[c + 0.4 - width / 2 for c in range(k)], xticklabels=range(k), xlabel="predicted class",
           ylabel="fraction of samples", title=title)
    ax.title.set_fontsize(9)
    ax.legend(fontsize=6, ncol=4)
    return save_figure(fig, path)


def plot_sample_overview(grids: list[tuple[str, Path]], path: Path, title: str) -> Path:
    """Every sampler's sample grid (first seed) in one figure, labelled."""
    from PIL import Image

    plt = pyplot()
    cols = min(4, len(grids))
    rows = -(-len(grids) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3.2 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, (label, grid) in zip(axes.flat, grids):
        with Image.open(grid) as img:
            ax.imshow(img.convert("RGB"))
        ax.set_title(label, fontsize=9)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_training_log(log_path: Path, path: Path, title: str) -> Path:
    """Every numeric loss-like column of a training log against the epoch."""
    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    rows = [{**r, **r.get("metrics", {})} for r in rows]  # --eval-every logs quality under "metrics"
    keys = [k for k in ("d_loss", "g_loss", "d_real", "d_fake", "gp", "fid", "precision", "recall")
            if any(isinstance(r.get(k), (int, float)) for r in rows)]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for k in keys:
        pts = [(r["epoch"], r[k]) for r in rows if isinstance(r.get(k), (int, float))]
        ax.plot(*zip(*pts), label=k, marker="o" if k in ("fid", "precision", "recall") else None)
    ax.set(xlabel="epoch", title=title)
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


