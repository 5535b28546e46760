"""`latentrw bench`, `report` and `demo`: every sampler side by side, and the HTML report."""

from __future__ import annotations

from pathlib import Path

import click

from latentrw.cli.group import _user_errors, main


@main.command()
@click.argument("suite", type=click.Choice(["synthetic", "mnist", "fashion-mnist"]))
@click.option("--samplers", default=None, help="Comma-separated [every registered sampler].")
@click.option("--checkpoints", default=None,
              help="Comma-separated shipped checkpoint names or run directories (with reweight/ and calibrated/) "
                   "[the suite's].")
@click.option("--seeds", default=None, help="Comma-separated sampling seeds [0,1,2; --quick 0,1].")
@click.option("--n", "n", type=click.IntRange(min=1), default=None, help="Samples per (sampler, seed) [10000; --quick 500].")
@click.option("--quick", is_flag=True, help="500 samples, 2 seeds and small step budgets.")
@click.option("--opt", "opts", multiple=True, metavar="SAMPLER:KEY=VALUE", help="A sampler option (repeatable).")
@click.option("--sweep", "sweeps", multiple=True, metavar="SAMPLER:KNOB=V1,V2,...",
              help="Also draw SAMPLER at each value of KNOB on the first seed, for trade-off curves (repeatable).")
@click.option("--metrics", default=None,
              help="Comma-separated, of fid, kid, prdc, emd, classes [images: fid,kid,prdc,classes; 2-D: prdc,emd].")
@click.option("--w-dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Another trained w than the checkpoint's reweight/ (with one --checkpoints).")
@click.option("--calibrated-dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Another calibrated D than the checkpoint's calibrated/ (with one --checkpoints).")
@click.option("--retrain-per-seed", is_flag=True,
              help="Train w and the calibrated D again with each seed (into OUT/models/), so the seeds' spread "
                   "includes their training.")
@click.option("--w-opt", "w_opts", multiple=True, metavar="KEY=VALUE",
              help="With --retrain-per-seed: a w training option (`latentrw reweight`'s, e.g. trainer=algorithm1).")
@click.option("--calibration-opt", "cal_opts", multiple=True, metavar="KEY=VALUE",
              help="With --retrain-per-seed: a calibration option (`latentrw calibrate`'s, e.g. steps=500).")
@click.option("--floor-per-seed", is_flag=True,
              help="A real-vs-real floor record per seed, not one: each seed draws its own N training points where "
                   "the pool holds more, and seeds the metrics (at a small --n one draw of the floor is noisy).")
@click.option("--tune-ga", is_flag=True,
              help="With --retrain-per-seed: tune latentGA's steps for each seed's w on held-out training images "
                   "(`latentrw tune-ga`); latent-ga and latent-rs-ga then run them.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="[runs/bench-SUITE]")
@click.option("--device", default="auto", help="cpu, cuda or auto.")
@_user_errors
def bench(suite: str, samplers: str | None, checkpoints: str | None, seeds: str | None, n: int | None, quick: bool,
          opts: tuple[str, ...], sweeps: tuple[str, ...], metrics: str | None, w_dir: str | None,
          calibrated_dir: str | None, retrain_per_seed: bool, w_opts: tuple[str, ...], cal_opts: tuple[str, ...],
          floor_per_seed: bool, tune_ga: bool, out: Path | None, device: str) -> None:
    """Every sampler on the suite's shipped checkpoints, seeds apart: OUT/results.jsonl (resumable)."""
    from latentrw.bench import QUICK_OPTIONS, BenchConfig
    from latentrw.bench import bench as run_bench
    from latentrw.device import resolve_device
    from latentrw.specs import parse_key_values, parse_options, parse_sweep

    options = {k: dict(v) for k, v in (QUICK_OPTIONS if quick else {}).items()}
    try:
        for name, kv in parse_options(opts).items():
            options.setdefault(name, {}).update(kv)
        config = BenchConfig(suite, tuple(samplers.split(",")) if samplers else (),
                             tuple(int(s) for s in (seeds or ("0,1" if quick else "0,1,2")).split(",")),
                             n or (500 if quick else 10_000), options,
                             tuple(checkpoints.split(",")) if checkpoints else (),
                             tuple(parse_sweep(spec) for spec in sweeps),
                             tuple(metrics.split(",")) if metrics else (), w_dir, calibrated_dir, retrain_per_seed,
                             parse_key_values(w_opts, "--w-opt"), parse_key_values(cal_opts, "--calibration-opt"),
                             floor_per_seed, tune_ga).resolved()
    except ValueError as exc:  # a bad option, sweep, sampler or seed list: before anything runs
        raise click.UsageError(str(exc)) from exc
    out = out or Path("runs") / f"bench-{suite}"
    results = run_bench(config, out / "results.jsonl", resolve_device(device))
    click.echo(f"results: {results}\nreport:  latentrw report {results} --out {out / 'report'}")


@main.command()
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="[RESULTS' folder/report]")
@click.option("--screenshot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the page's first screen at 1280 px wide as this PNG (needs selenium and Chromium).")
@_user_errors
def report(results: Path, out: Path | None, screenshot: Path | None) -> None:
    """Tables (Markdown, CSV), plots and a self-contained HTML page from a bench's JSONL."""
    from latentrw.report import build_report

    page = build_report(results, out or results.parent / "report")
    click.echo(f"report: {page}")
    if screenshot:
        from latentrw.screenshot import screenshot as take

        info = take(page, screenshot)
        fits = "fits" if info["scroll_width"] <= info["inner_width"] else f"is {info['scroll_width']} px wide: too wide"
        click.echo(f"screenshot: {screenshot} (the page {fits} at {info['inner_width']} px)")


@main.command()
@click.option("--quick", is_flag=True, help="One checkpoint, fewer samplers, 500 samples, 2 seeds (about a minute).")
@click.option("--full", is_flag=True, help="Every sampler on the three mlp checkpoints with every metric and sweep.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [runs/demo, runs/demo-quick or runs/demo-full].")
@click.option("--device", default="auto", help="cpu, cuda or auto.")
@_user_errors
def demo(quick: bool, full: bool, out: Path | None, device: str) -> None:
    """The shipped MNIST generators, improved by latent reweighting and its rivals: evaluated, and an HTML report."""
    from latentrw.bench import bench as run_bench
    from latentrw.bench import demo_config
    from latentrw.device import resolve_device
    from latentrw.progress import Stopwatch, machine
    from latentrw.report import build_report

    if quick and full:
        raise click.UsageError("--quick and --full exclude each other")
    watch = Stopwatch()
    mode = "quick" if quick else "full" if full else "default"
    config = demo_config(mode)
    out = out or Path("runs") / {"quick": "demo-quick", "full": "demo-full", "default": "demo"}[mode]
    click.echo(f"demo: {', '.join(config.checkpoints)}; samplers {', '.join(config.samplers)}; {config.n} samples "
               f"per sampler and seed; seeds {', '.join(map(str, config.seeds))}; step budgets "
               + "; ".join(f"{k} {v}" for k, v in config.options.items() if k in config.samplers)
               + ("; sweeps " + "; ".join(f"{name} {knob} {values}" for name, knob, values in config.sweeps)
                  if config.sweeps else ""))
    results = run_bench(config, out / "results.jsonl", resolve_device(device))
    page = build_report(results, out / "report")
    click.echo(f"\nreport: {page.resolve()}\n(open it in a browser; tables in {page.parent / 'table.md'})\n"
               f"demo: {watch.summary()} on {machine()}")

