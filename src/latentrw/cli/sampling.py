"""`latentrw samplers`, `sample` and `evaluate`: drawing samples and measuring them."""

from __future__ import annotations

import inspect
from pathlib import Path

import click

from latentrw.cli.group import RUN_OR_SHIPPED, _user_errors, main
from latentrw.data import DATASETS
from latentrw.samplers import SAMPLERS
from latentrw.samplers.base import REQUIREMENTS


@main.command("samplers")
def list_samplers() -> None:
    """List the registered samplers and their options."""
    for name in SAMPLERS.names():
        cls = SAMPLERS.get(name)
        doc = (inspect.getdoc(cls) or "").split("\n")[0]
        params = [f"{k}={v!r}" for k, v in cls.options().items()]
        needs = [REQUIREMENTS[r] for r in cls.requires]
        selects = f"; selects by {cls.selects_by}" if cls.selects_by else ""
        click.echo(f"{name:<13} {doc}")
        click.echo(f"{'':<13} options: {', '.join(params) or '-'}" + (f"; needs {', '.join(needs)}" if needs else "")
                   + selects)



def _sampler_options(fn):
    """--sampler and the options of the registered samplers (each passed only when given)."""
    options = [
        click.option("--sampler", type=click.Choice(SAMPLERS.names()), default="base",
                     help="Post-hoc sampler; latent-* need `latentrw reweight RUN` first."),
        click.option("--w-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Directory of the trained w [RUN/reweight]."),
        click.option("--acceptance", type=click.FloatRange(0, 1, min_open=True), default=None,
                     help="latent-rs(-ga): target acceptance rate (the dial) instead of 1/m."),
        click.option("--m", "m", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="latent-rs(-ga): bound of the rejection step [the m w was trained with]."),
        click.option("--ga-steps", type=click.IntRange(min=0), default=None,
                     help="latent-ga / latent-rs-ga: steps [those tuned for w by `latentrw tune-ga`, else 10]."),
        click.option("--ga-step-size", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="latent-ga / latent-rs-ga: step size [0.01·√d; latent units in log mode]."),
        click.option("--ga-mode", type=click.Choice(["log", "plain"]), default=None,
                     help="latent-ga / latent-rs-ga: normalised ascent on log w (ours) or the paper's z + η∇w [log]."),
        click.option("--ga-project/--no-ga-project", default=None,
                     help="latent-ga / latent-rs-ga: keep latents in the prior's typical set [where the prior has one]."),
        click.option("--k", "k", type=click.IntRange(min=1), default=None,
                     help="latent-sir / sir: proposals per sample [10]; mh-gan: proposals per chain [640]."),
        click.option("--calibrated-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="drs / mh-gan / sir / ddls / dgflow: the calibrated D [RUN/calibrated]."),
        click.option("--opt", "opts", multiple=True, metavar="KEY=VALUE",
                     help="Any other option of the sampler, e.g. --opt psi=0.7, --opt gamma=0, --opt steps=100 "
                          "(repeatable; see `latentrw samplers`)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _parse_opts(opts: tuple[str, ...]) -> dict:
    """``("psi=0.7", "divergence=js")`` → {"psi": 0.7, "divergence": "js"}."""
    from latentrw.specs import parse_key_values

    try:
        return parse_key_values(opts)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def _make_sampler(run, run_dir: Path, sampler: str, w_dir: Path | None, batch_size: int, acceptance, m, ga_steps,
                  ga_step_size, ga_mode, ga_project, k, calibrated_dir, opts):
    from latentrw.sample import make_sampler

    options = dict(acceptance=acceptance, m=m, steps=ga_steps, step_size=ga_step_size, mode=ga_mode,
                   project=ga_project, k=k)
    options.update(_parse_opts(opts))
    try:
        return make_sampler(sampler, run, run_dir, w_dir, batch_size, calibrated_dir, **options)
    except (TypeError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc


@main.command()
@click.argument("run_dir", type=RUN_OR_SHIPPED)
@click.option("--n", "n", type=click.IntRange(min=1), default=1000, help="Number of samples.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the PNGs (one 28x28 grayscale file per image), samples.npz and grid.png "
                   "(2-D runs: samples.npz and scatter.png).")
@click.option("--seed", type=int, default=0)
@click.option("--batch-size", type=click.IntRange(min=1), default=1000)
@click.option("--device", default="auto", help="cpu, cuda or auto.")
@click.option("--no-png", is_flag=True, help="Write only samples.npz and the preview grid.")
@click.option("--shard-size", type=click.IntRange(min=1), default=None,
              help="Large N: stream the samples to OUT/x_NNNNN.npy shards of this size (and index.json) instead.")
@_sampler_options
@_user_errors
def sample(run_dir: Path, n: int, out: Path, seed: int, batch_size: int, device: str, no_png: bool,
           shard_size: int | None, sampler: str, w_dir: Path | None, **sampler_options) -> None:
    """Draw N samples from a trained run (with a post-hoc sampler) and export them."""
    from latentrw.device import resolve_device
    from latentrw.run import load_run
    from latentrw.sample import export

    run = load_run(run_dir, resolve_device(device))
    chosen = _make_sampler(run, run_dir, sampler, w_dir, batch_size, **sampler_options)
    if shard_size:
        from latentrw.shards import write_shards

        index = write_shards(chosen, run, n, out, seed, shard_size, progress=click.echo)
        click.echo(f"{n} samples in {len(index['shards'])} shards under {out} (index.json); "
                   f"`latentrw evaluate {out}` streams them")
        return
    info = export(run, n, out, seed=seed, batch_size=batch_size, pngs=not no_png, sampler=chosen)
    click.echo(f"{info['n']} samples from {run_dir} (step {run.step}, sampler {sampler}) written to {out} "
               f"({info['npz']})" + (f"; {info['cost']}" if "cost" in info else ""))


@main.command()
@click.argument("source", type=RUN_OR_SHIPPED)
@click.option("--dataset", type=click.Choice(DATASETS.names()), default=None,
              help="Dataset of the samples [a run's own; mnist for PNG folders and .npz files].")
@click.option("--n", "n", type=click.IntRange(min=2), default=10_000, help="Samples drawn from a run.")
@click.option("--seed", type=int, default=0, help="Seed of the samples drawn from a run and of the EMD subsets.")
@click.option("--metrics", default="fid,kid,prdc,emd,classes",
              help="Comma-separated subset of fid,kid,prdc,emd,emd_sq,classes (emd_sq: squared Euclidean cost).")
@click.option("--results", type=click.Path(dir_okay=False, path_type=Path), default=Path("results.jsonl"),
              help="JSONL file that gets one line per evaluation.")
@click.option("--classifier", "classifier_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="Use this classifier file (from `latentrw classifier train`) for the features.")
@click.option("--no-floor", is_flag=True, help="Skip the real-vs-real floor column.")
@click.option("--device", default="auto", help="cpu, cuda or auto.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, help="Compute batch of the sampler.")
@click.option("--subsample", type=click.IntRange(min=10), default=10_000,
              help="Sharded samples: P/R, density/coverage, KID and EMD on this many (FID and class statistics on all).")
@_sampler_options
@_user_errors
def evaluate(source: Path, dataset: str | None, n: int, seed: int, metrics: str, results: Path,
             classifier_path: Path | None, no_floor: bool, device: str, batch_size: int, subsample: int, sampler: str,
             w_dir: Path | None, **sampler_options) -> None:
    """Evaluate samples: a run directory (draws N), a folder of PNGs, an .npz or a shard folder.

    Under `torchrun --nproc-per-node K` the feature extraction is split across K processes."""
    from latentrw.evaluate_source import evaluate_source
    from latentrw.metrics.evaluate import append_jsonl
    from latentrw.run import CONFIG

    chosen = tuple(m.strip() for m in metrics.split(",") if m.strip())
    is_run = (source / CONFIG).is_file()
    if not is_run and (sampler != "base" or any(v not in (None, ()) for v in sampler_options.values())):
        raise click.UsageError("--sampler and its options apply to a run directory, not to stored samples")
    make = (lambda run: _make_sampler(run, source, sampler, w_dir, batch_size, **sampler_options)) if is_run else None
    rec = evaluate_source(source, dataset, chosen, seed, n=n, make_sampler=make, device=device,
                          classifier=classifier_path, with_floor=not no_floor, subsample=subsample)
    if rec is None:  # a rank other than 0 under torchrun
        return
    append_jsonl(results, rec)
    _print_record(rec, source)
    click.echo(f"appended to {results}")


def _print_record(rec: dict, source: Path) -> None:
    """What was evaluated, its cost per sample, and each metric beside the floor."""
    values, base = rec["metrics"], rec.get("floor") or {}
    if rec["source_kind"] == "shards":
        click.echo(f"{rec['dataset']}: {values['n']} samples streamed from {source} (k-NN/OT metrics on a subsample "
                   f"of {values['subsample']})")
    else:
        click.echo(f"{rec['dataset']}: {rec['n']} samples from {source} ({rec['source_kind']}"
                   + (f", sampler {rec['sampler']}" if rec["sampler"] else "")
                   + f") vs the {rec['reference']['n']} test images; features {rec['feature_extractor']}")
    if "cost" in rec:
        c = rec["cost"]
        click.echo(f"cost per sample: {c['proposals']:.3f} proposals, {c['g_forward']:.3f} G, {c['w_forward']:.3f} w "
                   f"forward, {c['ms']:.4f} ms")
    click.echo(f"{'metric':<22}{'value':>12}{'floor':>12}")
    for key, value in values.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            fl = base.get(key)
            click.echo(f"{key:<22}{value:>12.4f}" + (f"{fl:>12.4f}" if isinstance(fl, (int, float)) else ""))
