"""The ``latentrw`` command. Subcommands only parse arguments and call the API."""

from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path

import click

from latentrw.config import TrainConfig
from latentrw.data import DATASETS
from latentrw.errors import LatentrwError
from latentrw.models import MODELS
from latentrw.objectives import OBJECTIVES
from latentrw.priors import PRIORS
from latentrw.samplers import SAMPLERS


class _RunOrShipped(click.ParamType):
    """A run directory, or the name of a shipped checkpoint (``latentrw.shipped``)."""

    name = "RUN"

    def convert(self, value, param, ctx):
        from latentrw.shipped import available, shipped

        path = Path(value)
        if str(value) in available() and not path.is_dir():
            return shipped(str(value))
        if path.exists():
            return path
        self.fail(f"{value!r} is neither an existing path nor a shipped checkpoint ({', '.join(available())})",
                  param, ctx)


RUN_OR_SHIPPED = _RunOrShipped()


def _user_errors(fn):
    """Show our own errors as one clear line instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LatentrwError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt as exc:  # training saved its step first and says how to resume
            click.echo(f"\n{exc}" if exc.args else "\ninterrupted", err=True)
            raise SystemExit(130) from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="latentrw")
@click.option("--plugin", "plugins", multiple=True, metavar="MODULE:FACTORY",
              help="Trust this outside model factory, so runs made by `latentrw import-gan` load (repeatable; "
                   "or LATENTRW_PLUGINS=spec1,spec2).")
@_user_errors
def main(plugins: tuple[str, ...]) -> None:
    """latentrw: train GANs on MNIST, Fashion-MNIST and 2-D data, and improve their samples."""
    from latentrw import distributed
    from latentrw.models.plugin import trust

    for spec in plugins:
        trust(spec)
    distributed.init()  # under torchrun: join the process group (latentrw.distributed)


@main.group()
def data() -> None:
    """Fetch, verify and cache datasets."""


@data.command("prepare")
@click.argument("names", nargs=-1, required=True, type=click.Choice(DATASETS.names()))
@click.option("--source-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder holding the four IDX files (gzipped or not) to use instead of downloading.")
@_user_errors
def data_prepare(names: tuple[str, ...], source_dir: Path | None) -> None:
    """Fetch/cache datasets and print where they live and their checksums."""
    from latentrw.data import load_dataset

    for name in names:
        ds = load_dataset(name, source_dir)
        click.echo(f"{name}: {len(ds.x_train)} train / {len(ds.x_test)} test, {ds.x_train.dtype}, "
                   f"from {ds.info['source']}")
        if "cache" in ds.info:
            click.echo(f"  cached in {ds.info['cache']}")
        for fname, digest in ds.info["sha256"].items():
            click.echo(f"  sha256 {digest}  {fname}")


@data.command("add")
@click.argument("name")
@click.option("--npz", "npz", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Arrays x_train/x_test (and y_train/y_test), or a single x: uint8 images (N,H,W) or points (N,2).")
@click.option("--images", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="A folder of PNG/JPEG files, any size: grayscale, resized and centre-cropped to --size.")
@click.option("--size", type=click.IntRange(8, 256), default=28, help="Image side in pixels (--images).")
@click.option("--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.1,
              help="Held out as the test split when the source has no split.")
@_user_errors
def data_add(name: str, npz: Path | None, images: Path | None, size: int, test_fraction: float) -> None:
    """Add your own data as dataset NAME (an .npz or a folder of images), usable by every command."""
    from latentrw.data.user import add_dataset, load

    if (npz is None) == (images is None):
        raise click.UsageError("give exactly one of --npz FILE or --images DIR")
    folder = add_dataset(name, npz or images, size, test_fraction)
    ds = load(name)
    click.echo(f"{name}: {ds.kind}, {len(ds.x_train)} train / {len(ds.x_test)} test of shape "
               f"{tuple(ds.x_train.shape[1:])}, labels {'yes' if ds.y_train is not None else 'no'}; in {folder}")


@data.command("list")
def data_list() -> None:
    """List the registered datasets."""
    for name in DATASETS:
        click.echo(name)


_DEFAULTS = TrainConfig()


@main.command()
@click.option("--dataset", type=click.Choice(DATASETS.names()), default=_DEFAULTS.dataset)
@click.option("--model", type=click.Choice(MODELS.names()), default=_DEFAULTS.model,
              help="Network family (toy for 2-D sets).")
@click.option("--objective", type=click.Choice(OBJECTIVES.names()), default=_DEFAULTS.objective)
@click.option("--prior", type=click.Choice(PRIORS.names()), default=_DEFAULTS.prior,
              help="Latent prior; gm = GM-GAN learnable mixture.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help=f"[default: {_DEFAULTS.epochs}; "
              "with --resume: the run's own]")
@click.option("--batch-size", type=click.IntRange(min=1), default=_DEFAULTS.batch_size)
@click.option("--z-dim", type=click.IntRange(min=1), default=None, help="Latent size [100 images, 2 for 2-D].")
@click.option("--lr-g", type=click.FloatRange(min=0, min_open=True), default=None, help="[objective's default]")
@click.option("--lr-d", type=click.FloatRange(min=0, min_open=True), default=None, help="[objective's default]")
@click.option("--n-critic", type=click.IntRange(min=1), default=None, help="D steps per G step [objective's default]")
@click.option("--lr-decay", type=click.Choice(["none", "linear"]), default=_DEFAULTS.lr_decay)
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None, help="D dropout (mlp, toy).")
@click.option("--width", type=click.IntRange(min=1), default=None, help="Channel width (cnn only) [64].")
@click.option("--seed", type=int, default=_DEFAULTS.seed)
@click.option("--device", default=None, help=f"cpu, cuda or auto [default: {_DEFAULTS.device}; with --resume: "
              "the run's own].")
@click.option("--checkpoint-every", type=click.IntRange(min=0), default=0,
              help="Steps between checkpoints; 0 = every epoch.")
@click.option("--eval-every", type=click.IntRange(min=0), default=0,
              help="Every K epochs log FID, precision/recall, density/coverage and the in-between rate.")
@click.option("--eval-n", type=click.IntRange(min=10), default=2000, help="Samples per --eval-every evaluation.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory to create (a run with the same config there is continued, not redone).")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Continue the run in this directory from its last checkpoint (only --epochs/--device apply).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_user_errors
def train(resume_dir: Path | None, out: Path | None, quiet: bool, epochs: int | None, device: str | None,
          **options) -> None:
    """Train a GAN and write a run directory (config, weights, log, sample grids)."""
    from latentrw.run import CONFIG
    from latentrw.train import train as run_training

    if resume_dir is not None:
        ctx = click.get_current_context()
        changeable = ("eval_every", "eval_n")  # do not touch the training itself
        given = [name for name in (*options, "out") if name not in changeable
                 and ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT]
        if given:
            raise click.UsageError(f"--resume continues a run with its own config; only --epochs, --device and "
                                   f"--eval-every/--eval-n may be given with it (not "
                                   f"{', '.join('--' + g.replace('_', '-') for g in given)})")
        cfg = TrainConfig.load(resume_dir / CONFIG)
        cfg.epochs = epochs or cfg.epochs
        cfg.device = device or cfg.device
        for name in changeable:
            if ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT:
                setattr(cfg, name, options[name])
        path = run_training(cfg, resume_dir, resume=True, progress=not quiet)
    else:
        if out is None:
            raise click.UsageError("give --out DIR for a new run, or --resume DIR to continue one")
        width, dropout = options.pop("width"), options.pop("dropout")
        g_opts = {"width": width} if width is not None else {}
        d_opts = {**g_opts, **({"dropout": dropout} if dropout is not None else {})}
        cfg = TrainConfig(epochs=epochs or _DEFAULTS.epochs, device=device or _DEFAULTS.device,
                          g_options=g_opts, d_options=d_opts, **options)
        path = run_training(cfg, out, resume=None, progress=not quiet)
    grids = sorted((path / "samples").glob("epoch_*.png"))
    click.echo(f"run written to {path}" + (f"; latest samples: {grids[-1]}" if grids else ""))


def _reweight_option(name: str, kind, help: str):
    """A `latentrw reweight` option whose default is ReweightConfig's (one source of defaults)."""
    from latentrw.reweight import ReweightConfig

    default = getattr(ReweightConfig, name.replace("-", "_"))
    return click.option(f"--{name}", type=kind, default=None, help=f"{help}  [default: {default}]")


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@_reweight_option("trainer", click.Choice(["bank", "algorithm1"]),
                  "bank: rounds of critic steps on a bank of G(z), each followed by w regressed onto one "
                  "functional ascent step of Eq. 6 (ours, docs/reweighting.md); algorithm1: the paper's listing.")
@_reweight_option("rounds", click.IntRange(min=1), "bank: rounds.")
@_reweight_option("critic-steps", click.IntRange(min=0), "bank: critic steps per round (0: the run's D, fixed).")
@_reweight_option("w-steps", click.IntRange(min=1), "bank: regression steps of w per round.")
@_reweight_option("step-size", click.FloatRange(min=0, min_open=True), "bank: η of the ascent step per round.")
@_reweight_option("bank", click.IntRange(min=100), "bank: latents (and their G(z)) drawn per round.")
@_reweight_option("steps", click.IntRange(min=1), "algorithm1: w-steps.")
@_reweight_option("n-d", click.IntRange(min=0), "algorithm1: critic steps per w-step.")
@_reweight_option("batch-size", click.IntRange(min=2), "Batch of critic steps (and of Algorithm 1's w-steps).")
@_reweight_option("lr-w", click.FloatRange(min=0, min_open=True), "Adam learning rate of w.")
@_reweight_option("lr-d", click.FloatRange(min=0, min_open=True), "Adam learning rate of the critic.")
@_reweight_option("m", click.FloatRange(min=0, min_open=True), "Cap of w (and RS's bound).")
@_reweight_option("lambda1", click.FloatRange(min=0), "Weight of (E w - 1)^2.")
@_reweight_option("lambda2", click.FloatRange(min=0), "Weight of E max(0, w - m)^2.")
@click.option("--gp-weight", type=click.FloatRange(min=0), default=None,
              help="Critic's gradient penalty [the run's own where it had one, else 10].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for w [RUN/reweight]; the same command again resumes or reuses it.")
@click.option("--device", default="auto", help="cpu, cuda or auto.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--no-figures", is_flag=True, help="Skip drawing the figures into OUT/figures.")
@_user_errors
def reweight(run_dir: Path, gp_weight: float | None, seed: int, out: Path | None, device: str, quiet: bool,
             no_figures: bool, **options) -> None:
    """Learn the latent importance weights w(z) of a trained run (Eq. 6; by default the bank trainer).

    Under `torchrun --nproc-per-node K` each step is split across K processes (latentrw.distributed)."""
    from latentrw.data import load_dataset
    from latentrw.device import resolve_device
    from latentrw.reweight import ReweightConfig, critic_gp_weight
    from latentrw.run import load_run
    from latentrw.w_trainer import WTrainer

    dev = resolve_device(device)
    run = load_run(run_dir, dev)
    cfg = ReweightConfig(**{k: v for k, v in options.items() if v is not None}, seed=seed,
                         gp_weight=critic_gp_weight(run.config) if gp_weight is None else gp_weight)
    real = load_dataset(run.config.dataset).model_input("train", dev)
    out = out or run_dir / "reweight"
    w, critic = WTrainer(run.G, run.D, run.prior, real, cfg, out, progress=not quiet).fit()
    from latentrw import distributed
    from latentrw.fileio import atomic_write_json
    from latentrw.w_trainer import critic_agreement

    if not distributed.is_main():  # under torchrun rank 0 wrote w and draws the figures
        return
    rho = critic_agreement(run.G, run.prior, w, critic)
    atomic_write_json(out / "agreement.json", {"spearman_w_critic": rho, "n": 10_000})
    click.echo(f"w written to {out / 'w.safetensors'} (log: {out / 'log.jsonl'}); Spearman(w, its critic) on "
               f"10,000 held-out latents: {rho:.3f}")
    if not no_figures:
        from latentrw.figures import reweight_figures

        paths = reweight_figures(run, w, out / "figures")
        click.echo(f"figures: {', '.join(str(p) for p in paths)}")


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--steps", type=click.IntRange(min=1), default=2000, help="BCE fine-tuning steps.")
@click.option("--batch-size", type=click.IntRange(min=2), default=256)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-4)
@click.option("--gp-weight", type=click.FloatRange(min=0), default=None,
              help="Gradient penalty during fine-tuning [the run's own; 0 if it had none].")
@click.option("--eval-every", type=click.IntRange(min=1), default=250, help="Score a checkpoint every this many steps.")
@click.option("--heldout", type=click.IntRange(min=100), default=5000, help="Training points held out for scoring.")
@click.option("--no-platt", is_flag=True, help="Skip Platt scaling of the kept logit.")
@click.option("--seed", type=int, default=0)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="[RUN/calibrated]")
@click.option("--device", default="auto", help="cpu, cuda or auto.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_user_errors
def calibrate(run_dir: Path, steps: int, batch_size: int, lr: float, gp_weight: float | None, eval_every: int,
              heldout: int, no_platt: bool, seed: int, out: Path | None, device: str, quiet: bool) -> None:
    """Fine-tune and calibrate a copy of the run's D (for drs, mh-gan, sir, ddls, dgflow)."""
    from latentrw.data import load_dataset
    from latentrw.device import resolve_device
    from latentrw.metrics.features import get_extractor
    from latentrw.run import load_run
    from latentrw.samplers.calibrate import DIR, CalibrationConfig, run_gp_weight
    from latentrw.samplers.calibrate import calibrate as run_calibration

    dev = resolve_device(device)
    run = load_run(run_dir, dev)
    cfg = CalibrationConfig(steps=steps, batch_size=batch_size, lr=lr, eval_every=eval_every, heldout=heldout,
                            platt=not no_platt, seed=seed,
                            gp_weight=run_gp_weight(run.config) if gp_weight is None else gp_weight)
    real = load_dataset(run.config.dataset).model_input("train", dev)
    out = out or run_dir / DIR
    _, info = run_calibration(run, real, cfg, out, get_extractor(run.config.dataset), progress=not quiet)
    click.echo(f"calibrated D written to {out} (kept step {info['chosen_step']}, held-out EMD "
               f"{info['heldout_emd']:.4g}, Platt a={info['platt'][0]:.3g} b={info['platt'][1]:.3g})")


@main.command("samplers")
def list_samplers() -> None:
    """List the registered samplers and their options."""
    for name in SAMPLERS.names():
        cls = SAMPLERS.get(name)
        doc = (inspect.getdoc(cls) or "").split("\n")[0]
        signature = inspect.signature(cls).parameters
        params = [f"{k}={p.default!r}" for k, p in signature.items() if k not in ("w", "disc", "batch_size")]
        needs = [what for key, what in (("w", "w"), ("disc", "calibrated D")) if key in signature]
        click.echo(f"{name:<13} {doc}")
        click.echo(f"{'':<13} options: {', '.join(params) or '-'}" + (f"; needs {', '.join(needs)}" if needs else ""))


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--w-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Directory of the trained w [RUN/reweight].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="[W_DIR/figures]")
@click.option("--seed", type=int, default=0)
@click.option("--device", default="auto", help="cpu, cuda or auto.")
@_user_errors
def figures(run_dir: Path, w_dir: Path | None, out: Path | None, seed: int, device: str) -> None:
    """Draw the paper's figures for a run and its trained w (w histogram; Fig. 2 on 2-D data;
    Fig. 4 samples sorted by acceptance and Fig. 5 latentGA paths on images)."""
    from latentrw.device import resolve_device
    from latentrw.figures import reweight_figures
    from latentrw.reweight import load_w
    from latentrw.run import load_run

    dev = resolve_device(device)
    w_dir = w_dir or run_dir / "reweight"
    paths = reweight_figures(load_run(run_dir, dev), load_w(w_dir, dev), out or w_dir / "figures", seed=seed)
    click.echo("\n".join(str(p) for p in paths))


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
        click.option("--ga-steps", type=click.IntRange(min=0), default=None, help="latent-ga / latent-rs-ga: steps [10]."),
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
    """``("psi=0.7", "divergence=js")`` → {"psi": 0.7, "divergence": "js"} (latentrw.specs.parse_value)."""
    from latentrw.specs import parse_value

    out = {}
    for spec in opts:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise click.UsageError(f"--opt {spec!r}: write KEY=VALUE")
        out[key.strip().replace("-", "_")] = parse_value(value)
    return out


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
@click.option("--metrics", default=",".join(("fid", "kid", "prdc", "emd", "classes")),
              help="Comma-separated subset of fid,kid,prdc,emd,classes.")
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
    from latentrw import distributed
    from latentrw.data import as_exported
    from latentrw.device import resolve_device
    from latentrw.metrics.evaluate import ALL_METRICS, append_jsonl, evaluate_samples, floor, record, reference
    from latentrw.metrics.features import classifier_extractor
    from latentrw.run import CONFIG, load_run
    from latentrw.sample import draw
    from latentrw.samples_io import load_npz, load_png_folder

    chosen = tuple(m.strip() for m in metrics.split(",") if m.strip())
    unknown = sorted(set(chosen) - set(ALL_METRICS))
    if unknown:
        raise click.UsageError(f"unknown metrics {unknown}; choose from {','.join(ALL_METRICS)}")
    extra: dict = {}
    if (source / CONFIG).is_file():
        run = load_run(source, resolve_device(device))
        dataset = dataset or run.config.dataset
        method = _make_sampler(run, source, sampler, w_dir, batch_size, **sampler_options)
        batch = draw(method, run, n, seed)
        x = as_exported(batch.x)
        kind = "run"
        extra = {"step": run.step, "config": run.config.to_dict(), "sampler_options": method.params(),
                 "cost": batch.cost.per_sample(n) | {"seconds": batch.cost.seconds}}
    elif sampler != "base" or any(v not in (None, ()) for v in sampler_options.values()):
        raise click.UsageError("--sampler and its options apply to a run directory, not to stored samples")
    elif (source / "index.json").is_file():  # shards from `latentrw sample --shard-size`: streamed
        from latentrw.shards import evaluate_shards, read_index

        dataset = dataset or read_index(source)["dataset"]
        extractor = classifier_extractor(dataset, classifier_path) if classifier_path else None
        ref = reference(dataset, extractor=extractor, progress=True)
        values = evaluate_shards(source, dataset, chosen, seed, subsample, ref)
        if not distributed.is_main():
            return
        append_jsonl(results, record(dataset, str(source.resolve()), None, seed, values["n"], values, ref,
                                     source_kind="shards"))
        click.echo(f"{dataset}: {values['n']} samples streamed from {source} (k-NN/OT metrics on a subsample of "
                   f"{values['subsample']})")
        for key, value in values.items():
            if isinstance(value, float):
                click.echo(f"{key:<22}{value:>12.4f}")
        click.echo(f"appended to {results}")
        return
    elif source.is_dir():
        x, kind, sampler = load_png_folder(source), "png-folder", None
    else:
        x, kind, sampler = load_npz(source), "npz", None
    dataset = dataset or "mnist"
    extractor = classifier_extractor(dataset, classifier_path) if classifier_path else None
    ref = reference(dataset, extractor=extractor, progress=True)
    values = evaluate_samples(x, dataset, chosen, seed, ref=ref, progress=True, source=str(source))
    base = None if no_floor else floor(dataset, n=min(len(x), 10_000), ref=ref, progress=True)
    if not distributed.is_main():  # every rank computed the same numbers; rank 0 reports them
        return
    rec = record(dataset, str(source.resolve()), sampler, seed, len(x), values, ref, source_kind=kind,
                 floor=base, **extra)
    append_jsonl(results, rec)
    click.echo(f"{dataset}: {len(x)} samples from {source} ({kind}" + (f", sampler {sampler}" if sampler else "")
               + f") vs the {len(ref.features)} test images; features {ref.extractor.name}")
    if "cost" in extra:
        c = extra["cost"]
        click.echo(f"cost per sample: {c['proposals']:.3f} proposals, {c['g_forward']:.3f} G, {c['w_forward']:.3f} w "
                   f"forward, {c['ms']:.4f} ms")
    click.echo(f"{'metric':<22}{'value':>12}{'floor':>12}")
    for key, value in values.items():
        if isinstance(value, (int, float)):
            fl = base.get(key) if base else None
            click.echo(f"{key:<22}{value:>12.4f}" + (f"{fl:>12.4f}" if isinstance(fl, (int, float)) else ""))
    click.echo(f"appended to {results}")


@main.group()
def classifier() -> None:
    """The dataset classifiers whose features the image metrics use."""


@classifier.command("train")
@click.argument("dataset", type=click.Choice(["mnist", "fashion-mnist"]))
@click.option("--epochs", type=click.IntRange(min=1), default=10)
@click.option("--seed", type=int, default=0)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output file [DATASET-classifier.safetensors].")
@_user_errors
def classifier_train(dataset: str, epochs: int, seed: int, out: Path | None) -> None:
    """Train the feature classifier of DATASET and report its test accuracy."""
    from latentrw.metrics.classifier import train_classifier

    out = out or Path(f"{dataset}-classifier.safetensors")
    from latentrw.fileio import sha256_file

    info = train_classifier(dataset, out, epochs=epochs, seed=seed, hflip=dataset == "fashion-mnist")
    click.echo(f"{out}: test accuracy {info['test_accuracy']:.4f} after {epochs} epochs ({info['seconds']} s); "
               f"sha256 {sha256_file(out)} (use it with `latentrw evaluate --classifier {out}`)")



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
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="[runs/bench-SUITE]")
@click.option("--device", default="auto", help="cpu, cuda or auto.")
@_user_errors
def bench(suite: str, samplers: str | None, checkpoints: str | None, seeds: str | None, n: int | None, quick: bool,
          opts: tuple[str, ...], sweeps: tuple[str, ...], metrics: str | None, out: Path | None, device: str) -> None:
    """Every sampler on the suite's shipped checkpoints, seeds apart: OUT/results.jsonl (resumable)."""
    from latentrw.bench import QUICK_OPTIONS, BenchConfig
    from latentrw.bench import bench as run_bench
    from latentrw.device import resolve_device
    from latentrw.specs import parse_options, parse_sweep

    options = {k: dict(v) for k, v in (QUICK_OPTIONS if quick else {}).items()}
    try:
        for name, kv in parse_options(opts).items():
            options.setdefault(name, {}).update(kv)
        config = BenchConfig(suite, tuple(samplers.split(",")) if samplers else (),
                             tuple(int(s) for s in (seeds or ("0,1" if quick else "0,1,2")).split(",")),
                             n or (500 if quick else 10_000), options,
                             tuple(checkpoints.split(",")) if checkpoints else (),
                             tuple(parse_sweep(spec) for spec in sweeps),
                             tuple(metrics.split(",")) if metrics else ()).resolved()
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


@main.command()
@click.argument("src", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", default=None, help="Convert only this entry of the file (e.g. state_dict, generator).")
@_user_errors
def convert(src: Path, dst: Path, key: str | None) -> None:
    """Convert a trusted PyTorch .pt/.pth weights file to safetensors (torch.load with weights_only=True).

    The only place latentrw reads a pickle-based file, and only when you run it."""
    from latentrw.convert import convert as run_convert

    tensors = run_convert(src, dst, key)
    click.echo(f"{dst}: {len(tensors)} tensors, {sum(t.numel() for t in tensors.values()):,} numbers")


@main.command("import-gan")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--dataset", type=click.Choice(DATASETS.names()), required=True, help="What G makes (and the metrics' reference).")
@click.option("--z-dim", type=click.IntRange(min=1), required=True)
@click.option("--prior", type=click.Choice(PRIORS.names()), default="gaussian")
@click.option("--generator", required=True, metavar="MODULE:FACTORY", help="Import path of a function returning G.")
@click.option("--g-weights", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="G's state dict as safetensors (`latentrw convert` makes one from a .pt).")
@click.option("--g-kwargs", default="{}", help="JSON keyword arguments of the generator factory.")
@click.option("--discriminator", default=None, metavar="MODULE:FACTORY", help="Import path of a function returning D.")
@click.option("--d-weights", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None)
@click.option("--d-kwargs", default="{}", help="JSON keyword arguments of the discriminator factory.")
@click.option("--gp-weight", type=click.FloatRange(min=0), default=None, help="Gradient penalty D was trained with.")
@click.option("--mapping", default=None, metavar="MODULE:FACTORY",
              help="A frozen mapping network in front of G (StyleGAN's z -> W): w and latentRS then work on its output.")
@click.option("--mapping-weights", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None)
@click.option("--mapping-kwargs", default="{}", help="JSON keyword arguments of the mapping factory.")
@_user_errors
def import_gan(out: Path, dataset: str, z_dim: int, prior: str, generator: str, g_weights: Path, g_kwargs: str,
               discriminator: str | None, d_weights: Path | None, d_kwargs: str, gp_weight: float | None,
               mapping: str | None, mapping_weights: Path | None, mapping_kwargs: str) -> None:
    """Make a run directory around a GAN trained outside latentrw (every other command then works on it,
    given `latentrw --plugin MODULE:FACTORY ...`). --z-dim and --prior describe the latent fed to
    --mapping when there is one, else to G."""
    from latentrw.run import import_run

    try:
        kwargs = json.loads(g_kwargs), json.loads(d_kwargs), json.loads(mapping_kwargs)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"--g-kwargs/--d-kwargs/--mapping-kwargs must be JSON objects ({exc})") from exc
    run = import_run(out, dataset, z_dim, generator, g_weights, discriminator, d_weights, prior, kwargs[0], kwargs[1],
                     gp_weight, mapping, mapping_weights, kwargs[2])
    specs = " ".join(f"--plugin {s}" for s in (mapping, generator, discriminator) if s)
    click.echo(f"{run}: run directory of the outside GAN. Next, e.g.:\n  latentrw {specs} reweight {run}\n"
               f"  latentrw {specs} calibrate {run}\n  latentrw {specs} evaluate {run} --sampler latent-rs")


if __name__ == "__main__":
    main()
