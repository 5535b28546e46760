"""The report: tables, plots and a self-contained HTML page built from a bench's JSONL and the
files its records point to (sample grids, acceptance histograms, training logs) — nothing else.

Per checkpoint: a table of mean ± t-based 95 % CI over seeds (:func:`latentrw.stats.mean_ci`)
of every metric and of the cost per accepted image, with the real-vs-real floor as its first
row (Markdown and CSV), then each sampler's difference from base paired by seed (see
:data:`PAIRED_NOTE`); plots of time per image against precision (the paper's Fig. 3), of
precision against recall, of the class histograms, of the acceptance histograms and of the
training losses; trade-off curves (precision against recall along each swept knob); the
paper's Fig. 2/4/5 analogues and the w/m histogram drawn by the bench; and
the sample grids. The HTML inlines every image, so it opens offline.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import os
from pathlib import Path

from latentrw.errors import DataError
from latentrw.fileio import sha256_file
from latentrw.report_plots import (
    plot_class_histograms,
    plot_pareto,
    plot_precision_recall,
    plot_sample_overview,
    plot_tradeoffs,
    plot_training_log,
)
from latentrw.stats import mean_ci, paired_diff_ci

METRICS = ("fid", "kid", "precision", "recall", "density", "coverage", "emd", "emd_sq", "in_between",
           "kl_uniform")
COSTS = ("acceptance", "ms", "proposals", "g_forward", "d_forward", "w_forward", "g_backward", "d_backward")
LOWER_IS_BETTER = {"fid", "kid", "emd", "emd_sq", "in_between", "kl_uniform", "ms"}
PAIRED_NOTE = ("Difference from base, paired by seed: mean ± t-based 95 % CI of the per-seed differences "
               "(sampler − base; every sampler of a seed draws from that seed's proposal stream, so the pairs "
               "share its luck), and in brackets the seeds in which the sampler is better. With many cells, "
               "about 1 in 20 excludes 0 by chance alone.")


def load_results(path: Path | str) -> list[dict]:
    """The bench records of a JSONL file; a line that is not JSON is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found: run `latentrw bench SUITE --out DIR` first")
    recs = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                recs.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{i} is not a JSON record ({exc}); remove the line and re-run") from exc
    if not recs:
        raise DataError(f"{path} holds no records")
    return recs


def _label(rec: dict) -> str:
    return rec.get("label") or rec["sampler"]


def summarise(recs: list[dict]) -> dict[str, list[dict]]:
    """``{checkpoint: [row, ...]}``; a row has ``label``, ``seeds`` and ``(mean, half-width)``
    for every metric and cost present, and, for a sampler of a checkpoint with a ``base`` row,
    ``paired`` (:func:`paired_deltas`). The floor row comes first, then samplers in bench order."""
    out: dict[str, list[dict]] = {}
    for ckpt in dict.fromkeys(r.get("checkpoint", r["source"]) for r in recs):
        rows = []
        mine = [r for r in recs if r.get("checkpoint", r["source"]) == ckpt and "knob" not in r]
        by_label = {label: [r for r in mine if _label(r) == label] for label in dict.fromkeys(map(_label, mine))}
        for label, rs in by_label.items():
            row = {"label": label, "sampler": rs[0]["sampler"], "seeds": len(rs), "n": rs[0]["n"],
                   "options": rs[0].get("sampler_options", {})}
            for key in METRICS:
                vals = [r["metrics"][key] for r in rs if isinstance(r["metrics"].get(key), (int, float))]
                if vals:
                    row[key] = mean_ci(vals)[::2]
            for key in COSTS:
                vals = [r["cost"][key] for r in rs if key in r.get("cost", {})]
                if vals:
                    row[key] = mean_ci(vals)[::2]
            rows.append(row)
        base = {r["seed"]: r["metrics"] for r in by_label.get("base", [])}
        for row in rows:
            if base and row["label"] != "base" and row["sampler"] != "real":
                row["paired"] = paired_deltas(by_label[row["label"]], base)
        out[ckpt] = rows
    return out


def paired_deltas(recs: list[dict], base: dict[int, dict]) -> dict[str, tuple[float, float, int, int]]:
    """Per metric, ``(mean, half-width, better, pairs)`` of ``sampler − base`` over the seeds
    both have: the paired t-interval and in how many of those seeds the sampler was better (a
    tie is not). Seeds only one side has are left out; ``pairs`` says how many remained."""
    out = {}
    for key in METRICS:
        pairs = [(r["metrics"][key], base[r["seed"]][key]) for r in recs
                 if isinstance(r["metrics"].get(key), (int, float))
                 and isinstance(base.get(r["seed"], {}).get(key), (int, float))]
        if pairs:
            mean, _, half = paired_diff_ci(*zip(*pairs))
            better = sum((v < b) if key in LOWER_IS_BETTER else (v > b) for v, b in pairs)
            out[key] = (mean, half, better, len(pairs))
    return out


def _no_spread(mean: float, half: float) -> bool:
    """A half-width that is rounding error next to the mean (identical values in every seed)."""
    return abs(half) <= 1e-9 * max(1.0, abs(mean))


def _cell(value: tuple[float, float] | None) -> str:
    if value is None:
        return ""
    mean, half = value
    if not math.isfinite(half) or _no_spread(mean, half):  # one seed, or no spread
        return f"{mean:.4g}"
    return f"{mean:.4g} ± {half:.2g}"


def _columns(rows: list[dict]) -> list[str]:
    """The metrics and costs some sampler row has (the floor has more metrics than the bench asks for)."""
    return [k for k in METRICS + COSTS if any(k in r for r in rows if r["sampler"] != "real")]


def options_notes(rows: list[dict]) -> list[str]:
    """One line per sampler: the options it ran with (the record's ``sampler_options``)."""
    return [f"{r['label']}: " + (", ".join(f"{k}={v}" for k, v in r["options"].items() if k != "batch_size") or "-")
            for r in rows if r["sampler"] != "real"]


def markdown_table(rows: list[dict]) -> str:
    cols = _columns(rows)
    head = "| sampler | seeds | " + " | ".join(c.replace("_", " ") for c in cols) + " |"
    lines = [head, "|---" * (len(cols) + 2) + "|"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['seeds']} | " + " | ".join(_cell(r.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def _paired_columns(rows: list[dict]) -> list[str]:
    """The metrics some sampler row has a paired difference for."""
    return [k for k in METRICS if any(k in r.get("paired", {}) for r in rows)]


def _paired_head(col: str) -> str:
    return "Δ " + col.replace("_", " ")


def _paired_cell(value: tuple[float, float, int, int] | None) -> str:
    """``+1.2 ± 0.5 (3/3)``; one pair has no interval (``no CI``), a spread of 0 shows ``± 0``."""
    if value is None:
        return ""
    mean, half, better, n = value
    spread = "no CI" if n < 2 else "± 0" if _no_spread(mean, half) else f"± {half:.2g}"
    return f"{mean:+.4g} {spread} ({better}/{n})"


def paired_table(rows: list[dict]) -> str:
    """Markdown: each sampler minus base, paired by seed (:data:`PAIRED_NOTE`); empty without a base row."""
    cols = _paired_columns(rows)
    if not cols:
        return ""
    lines = ["| sampler − base | " + " | ".join(map(_paired_head, cols)) + " |",
             "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {r['label']} | " + " | ".join(_paired_cell(r["paired"].get(c)) for c in cols) + " |"
              for r in rows if "paired" in r]
    return "\n".join(lines)


# The first screen of a checkpoint: five figures a person reads before the full tables.
SHORT_COLUMNS = {"image": ("fid", "precision", "recall", "in_between", "ms"),
                 "points": ("emd", "precision", "recall", "coverage", "ms")}
VERDICT_NOTE = ("▲ better than base, ▼ worse: the paired 95 % interval of sampler − base (over the seeds) "
                "excludes 0; no mark: the seeds cannot tell. ms per accepted image, and in brackets its ratio "
                "to base's.")


def _key_metric(rows: list[dict]) -> str:
    """FID where the samplers have it (images), else EMD (2-D points), else precision."""
    samplers = [r for r in rows if r["sampler"] != "real"]
    return next((k for k in ("fid", "emd", "precision") if any(k in r for r in samplers)), "precision")


def _verdict(row: dict, key: str) -> str:
    """``▲``/``▼`` when the paired interval against base excludes 0 (better/worse), else ``""``."""
    mean, half, _, pairs = row.get("paired", {}).get(key, (0.0, math.inf, 0, 0))
    if pairs < 2 or not math.isfinite(half) or abs(mean) <= half:
        return ""
    return "▲" if (mean < 0) == (key in LOWER_IS_BETTER) else "▼"


def _short_cell(value: tuple[float, float] | None) -> str:
    """``646 ± 41``, ``0.654 ± 0.023``: the mean to the half-width's second significant digit."""
    if value is None:
        return ""
    mean, half = value
    if not math.isfinite(half) or _no_spread(mean, half):
        return f"{mean:.3g}"
    decimals = max(0, 1 - math.floor(math.log10(abs(half))))
    return f"{mean:.{decimals}f} ± {half:.{decimals}f}"


def short_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """The first-screen table: sampler and five columns (:data:`SHORT_COLUMNS`), each cell the
    mean ± 95 % CI with its paired verdict against base; the floor first, without cost."""
    kind = "image" if _key_metric(rows) == "fid" or any("in_between" in r for r in rows) else "points"
    cols = [c for c in SHORT_COLUMNS[kind] if any(c in r for r in rows)]
    base_ms = next((r["ms"][0] for r in rows if r["label"] == "base" and "ms" in r), None)
    body = []
    for r in rows:
        cells = [r["label"]]
        for c in cols:
            cell = _short_cell(r.get(c))
            if c == "ms" and cell and base_ms:
                cell += f" ({r['ms'][0] / base_ms:.1f}×)"
            elif cell and (mark := _verdict(r, c)):
                cell += f" {mark}"
            cells.append(cell)
        body.append(cells)
    return ["sampler"] + [{"ms": "ms / image", "fid": "FID", "emd": "EMD"}.get(c, c.replace("_", "-"))
                          for c in cols], body


def headline(rows: list[dict], budget: float = 2.0) -> str:
    """One sentence: the best sampler by the key metric (FID, or EMD) at most ``budget`` × base's
    time per image, and the best overall, each with its paired verdict."""
    key = _key_metric(rows)
    lower = key in LOWER_IS_BETTER
    base = next((r for r in rows if r["label"] == "base"), None)
    cands = [r for r in rows if r["sampler"] != "real" and key in r]
    if base is None or key not in base or not cands:
        return ""
    best = (min if lower else max)(cands, key=lambda r: r[key][0])
    cheap = [r for r in cands if "ms" in r and "ms" in base and r["ms"][0] <= budget * base["ms"][0]]
    name = key.upper() if key in ("fid", "emd") else key

    def said(r: dict) -> str:
        verdict = {"▲": "better than base in the paired test", "▼": "worse than base in the paired test",
                   "": "not distinguishable from base over these seeds"}[_verdict(r, key)]
        ratio = f", {r['ms'][0] / base['ms'][0]:.1f}× base's time per image" if "ms" in r and "ms" in base else ""
        return f"{r['label']} ({name} {r[key][0]:.3g} against base's {base[key][0]:.3g}{ratio}; {verdict})"

    if best["label"] == "base":
        return f"No sampler improves on base's {name} ({base[key][0]:.3g})."
    top_cheap = (min if lower else max)(cheap, key=lambda r: r[key][0]) if cheap else None
    if top_cheap is best:
        return f"Best {name}, also within {budget:g}× base's cost: {said(best)}."
    lead = (f"Best {name} within {budget:g}× base's cost: {said(top_cheap)}. " if top_cheap and
            top_cheap["label"] != "base" else f"Nothing within {budget:g}× base's cost beats base's {name}. ")
    return lead + f"Best overall: {said(best)}."


def _csv_rows(summary: dict[str, list[dict]]) -> list[list]:
    cols = sorted({c for rows in summary.values() for c in _columns(rows)}, key=(METRICS + COSTS).index)
    deltas = sorted({c for rows in summary.values() for c in _paired_columns(rows)}, key=METRICS.index)
    out = [["checkpoint", "sampler", "seeds"] + [f"{c}{s}" for c in cols for s in ("_mean", "_ci95")]
           + [f"delta_{c}{s}" for c in deltas for s in ("_mean", "_ci95", "_better", "_pairs")]]
    for ckpt, rows in summary.items():
        for r in rows:
            paired = r.get("paired", {})
            out.append([ckpt, r["label"], r["seeds"]] + [v for c in cols for v in (r.get(c) or ("", ""))]
                       + [v for c in deltas for v in (paired[c] if c in paired else ("",) * 4)])
    return out


def _artifact(rec: dict, key: str, root: Path) -> Path | None:
    """The file a record points to, after checking its sha256 (None if it has none)."""
    info = rec.get("artifacts", {}).get(key)
    if info is None:
        return None
    rel = Path(info["path"])
    if rel.is_absolute() or ".." in rel.parts:  # a record names files beside it, nowhere else
        raise DataError(f"{rec.get('checkpoint')}/{rec['sampler']}: artifact path {info['path']!r} leaves the bench folder")
    path = root / rel
    if not path.is_file():
        raise DataError(f"{path} (named by a record of {rec.get('checkpoint')}/{rec['sampler']}) is missing")
    if sha256_file(path) != info["sha256"]:
        raise DataError(f"{path} does not match the sha256 its record holds; the bench output was changed")
    return path


def build_report(results: Path | str, out: Path | str) -> Path:
    """Write ``table.md``, ``table.csv``, the plots and ``report.html`` into ``out``; returns the HTML path."""
    from latentrw.acceptance import plot_acceptance_histograms

    results, out = Path(results), Path(out)
    root = results.parent
    recs = load_results(results)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(recs)
    md = [f"# latentrw report\n\nFrom `{results}` ({len(recs)} records). Each cell: mean ± t-based 95 % CI "
          "over seeds; costs are per accepted image.\n"]
    sections = []
    for ckpt, rows in summary.items():
        n = rows[-1]["n"]
        table = markdown_table(rows)
        notes = options_notes(rows)
        head, body = short_rows(rows)
        short = "\n".join(["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
                          + ["| " + " | ".join(cells) + " |" for cells in body])
        md.append(f"## {ckpt}\n\n{headline(rows)}\n\n{short}\n\n{VERDICT_NOTE}\n\n"
                  f"All metrics and costs, {n} samples per seed:\n\n{table}\n\nSampler options: "
                  + "; ".join(notes) + "\n")
        if paired := paired_table(rows):
            md.append(f"{PAIRED_NOTE}\n\n{paired}\n")
        figures = [plot_pareto(rows, out / f"{ckpt}-pareto.png", f"{ckpt}: time per image vs precision"),
                   plot_precision_recall(rows, out / f"{ckpt}-precision-recall.png", f"{ckpt}: precision / recall")]
        everything = [r for r in recs if r.get("checkpoint", r["source"]) == ckpt]
        tradeoffs = plot_tradeoffs(everything, out / f"{ckpt}-tradeoffs.png",
                                   f"{ckpt}: trade-off curves (first seed; label: knob value, square: defaults)")
        if tradeoffs:
            figures.append(tradeoffs)
        mine = [r for r in everything if "knob" not in r]
        classes = plot_class_histograms(mine, out / f"{ckpt}-classes.png", f"{ckpt}: predicted classes (first seed)")
        if classes:
            figures.append(classes)
        hists = [json.loads(p.read_text()) for r in mine
                 if (p := _artifact(r, "acceptance_hist", root)) is not None]
        if hists:
            path = out / f"{ckpt}-acceptance.png"
            plot_acceptance_histograms(hists, path, f"{ckpt}: scores of accepted vs rejected proposals")
            figures.append(path)
        logs = [p for r in mine if (p := _artifact(r, "train_log", root)) is not None]
        if logs:
            figures.append(plot_training_log(logs[0], out / f"{ckpt}-training.png", f"{ckpt}: training log"))
        figures += [_artifact(r, key, root) for r in mine for key in r.get("artifacts", {}) if key.startswith("figure:")]
        grids = [(r.get("label") or r["sampler"], p) for r in mine if (p := _artifact(r, "samples", root)) is not None]
        if grids:
            md.append(f"![samples]({plot_sample_overview(grids, out / f'{ckpt}-samples.png', f'{ckpt}: samples').name})\n")
        md.extend(f"![{p.stem}]({os.path.relpath(p, out)})\n" for p in figures)
        sections.append((ckpt, n, rows, figures, grids, notes))
    (out / "table.md").write_text("\n".join(md))
    with open(out / "table.csv", "w", newline="") as f:
        csv.writer(f).writerows(_csv_rows(summary))
    page = out / "report.html"
    page.write_text(_html(results, recs, sections))
    return page


def _img(path: Path, alt: str, width: int | None = None) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    size = f' width="{width}"' if width else ""
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"{size}>'


def _html_table(rows: list[dict]) -> str:
    cols = _columns(rows)
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in ["sampler", "seeds"] + cols)
    body = "".join("<tr>" + f"<td>{html.escape(r['label'])}</td><td>{r['seeds']}</td>"
                   + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_paired_table(rows: list[dict]) -> str:
    """:func:`paired_table` in HTML, after :data:`PAIRED_NOTE`."""
    cols = _paired_columns(rows)
    if not cols:
        return ""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["sampler − base"] + [_paired_head(c) for c in cols])
    body = "".join("<tr>" + f"<td>{html.escape(r['label'])}</td>"
                   + "".join(f"<td>{html.escape(_paired_cell(r['paired'].get(c)))}</td>" for c in cols) + "</tr>"
                   for r in rows if "paired" in r)
    return f"<p>{html.escape(PAIRED_NOTE)}</p><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_short(rows: list[dict]) -> str:
    head, body = short_rows(rows)
    return ("<table class='short'><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head)
            + "</tr></thead><tbody>" + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                                              + "</tr>" for cells in body) + "</tbody></table>")


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{html.escape(summary)}</summary><div class='wide'>{body}</div></details>"


def _html(results: Path, recs: list[dict], sections) -> str:
    """The page: per checkpoint a first screen (a sentence, the short table, the two main plots),
    then the full tables, the other figures and the sample grids behind collapsible sections."""
    parts = [f"<p class='notes'>From <code>{html.escape(str(results))}</code>: {len(recs)} records. Cells are "
             "the mean ± t-based 95 % CI over seeds; costs are per accepted image.</p>",
             "<nav>" + " · ".join(f"<a href='#{html.escape(c)}'>{html.escape(c)}</a>" for c, *_ in sections) + "</nav>"]
    for ckpt, n, rows, figures, grids, notes in sections:
        first, rest = figures[:2], figures[2:]
        parts.append(f"<h2 id='{html.escape(ckpt)}'>{html.escape(ckpt)}</h2><p class='headline'>"
                     f"{html.escape(headline(rows))}</p>{_html_short(rows)}<p class='notes'>"
                     f"{html.escape(VERDICT_NOTE)} {n} samples per seed.</p>"
                     "<div class='figs'>" + "".join(_img(p, p.stem) for p in first) + "</div>")
        paired = _html_paired_table(rows)
        parts.append(_details("All metrics and costs", _html_table(rows))
                     + (_details("Each sampler minus base, paired by seed", paired) if paired else "")
                     + _details("Sampler options", f"<p class='notes'>{html.escape('; '.join(notes))}</p>"))
        if rest:
            parts.append(_details(f"More figures ({len(rest)})",
                                  "<div class='figs'>" + "".join(_img(p, p.stem) for p in rest) + "</div>"))
        if grids:
            parts.append(_details("Samples (first seed)", "<div class='grids'>" + "".join(
                f"<figure>{_img(p, label, 240)}<figcaption>{html.escape(label)}</figcaption></figure>"
                for label, p in grids) + "</div>"))
    style = ("body{font-family:sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em}"
             "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;"
             "text-align:right}td:first-child,th:first-child{text-align:left}table.short{font-size:14px}"
             ".headline{font-size:15px}.notes{font-size:12px;color:#444}.wide{overflow-x:auto}"
             "details{margin:6px 0}summary{cursor:pointer;font-weight:bold}"
             ".figs img{max-width:49%;margin:2px}.grids{display:flex;flex-wrap:wrap}figure{margin:6px}"
             "figcaption{text-align:center;font-size:12px}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>latentrw report</title>"
            f"<style>{style}</style></head><body><h1>latentrw report</h1>{''.join(parts)}</body></html>\n")
