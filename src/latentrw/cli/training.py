"""`latentrw train`, `reweight`, `tune-ga`, `calibrate` and `figures`: a GAN, its w and its calibrated D."""

from __future__ import annotations

from pathlib import Path

import click

from latentrw.cli.group import _user_errors, main
from latentrw.config import TrainConfig
from latentrw.data import DATASETS
from latentrw.ga_steps import CANDIDATES
from latentrw.models import MODELS
from latentrw.objectives import OBJECTIVES
from latentrw.priors import PRIORS
from latentrw.reweight import CRITIC_LR, ReweightConfig

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
@click.option("--eval-n", type=click.IntRange(min=10), default=_DEFAULTS.eval_n, help="Samples per --eval-every evaluation.")
@click.option("--holdout", type=click.IntRange(min=0), default=_DEFAULTS.holdout,
              help="Train without the last N training images; --eval-every scores against them instead of the "
              "test split.")
@click.option("--g-ema", type=click.FloatRange(0, 1, max_open=True), default=_DEFAULTS.g_ema,
              help="Decay of a moving average of G's weights (e.g. 0.999), evaluated beside G; 0 = none.")
@click.option("--select", type=click.Choice(["last", "fid"]), default=_DEFAULTS.select,
              help="fid: keep the lowest-FID G (or average) on the --holdout images in RUN/best.")
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


def _reweight_option(name: str, kind, help: str, default: str | None = None):
    """A `latentrw reweight` option whose default is ReweightConfig's (one source of defaults);
    ``default`` describes it where the config leaves it to the trainer."""
    default = default or getattr(ReweightConfig, name.replace("-", "_"))
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
@_reweight_option("average", click.IntRange(min=0), "bank: save the mean of w over its last AVERAGE rounds (0: the last).")
@_reweight_option("polish", click.IntRange(min=0), "bank: last rounds that hold the critic and regress w onto "
                  "Eq. 6's optimum under it.")
@_reweight_option("d-weight", click.FloatRange(min=0), "bank: weight of the run's own D, held fixed, in w's reward "
                  "beside the critic's.")
@_reweight_option("steps", click.IntRange(min=1), "algorithm1: w-steps.")
@_reweight_option("n-d", click.IntRange(min=0), "algorithm1: critic steps per w-step.")
@_reweight_option("batch-size", click.IntRange(min=2), "Batch of critic steps (and of Algorithm 1's w-steps).")
@_reweight_option("lr-w", click.FloatRange(min=0, min_open=True), "Adam learning rate of w.")
@_reweight_option("lr-d", click.FloatRange(min=0, min_open=True), "Adam learning rate of the critic.",
                  default=", ".join(f"{lr:g} ({trainer})" for trainer, lr in CRITIC_LR.items()))
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
    from latentrw import distributed
    from latentrw.data import load_dataset
    from latentrw.device import resolve_device
    from latentrw.reweight import ReweightConfig, critic_gp_weight
    from latentrw.run import load_run
    from latentrw.w_trainer import WTrainer, w_agreement

    dev = resolve_device(device)
    run = load_run(run_dir, dev)
    cfg = ReweightConfig(**{k: v for k, v in options.items() if v is not None}, seed=seed,
                         gp_weight=critic_gp_weight(run.config) if gp_weight is None else gp_weight)
    real = load_dataset(run.config.dataset).model_input("train", dev)
    out = out or run_dir / "reweight"
    w, _ = WTrainer(run.G, run.D, run.prior, real, cfg, out, progress=not quiet).fit()
    if not distributed.is_main():  # under torchrun rank 0 wrote w and draws the figures
        return
    agreement = w_agreement(run.G, run.D, run.prior, out)
    also = (f"; Spearman(w, its reward = std(critic) + {cfg.d_weight:g}·std(D)) "
            f"{agreement['spearman_w_reward']:.3f}" if "spearman_w_reward" in agreement else "")
    click.echo(f"w written to {out / 'w.safetensors'} (log: {out / 'log.jsonl'}); on 10,000 held-out latents "
               f"Spearman(w, its critic) {agreement['spearman_w_critic']:.3f}{also}")
    if not no_figures:
        from latentrw.figures import reweight_figures

        paths = reweight_figures(run, w, out / "figures")
        click.echo(f"figures: {', '.join(str(p) for p in paths)}")


@main.command("tune-ga")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--w-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Directory of the trained w [RUN/reweight].")
@click.option("--candidates", default=",".join(map(str, CANDIDATES)), help="Step counts to try, comma-separated.")
@click.option("--n", type=click.IntRange(min=100), default=5000, help="Samples per candidate.")
@click.option("--holdout", type=click.IntRange(min=100), default=None,
              help="Score against the last HOLDOUT training images, never the test split [the run's own "
                   "holdout, else 10000].")
@click.option("--device", default="auto", help="cpu, cuda or auto.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@_user_errors
def tune_ga(run_dir: Path, w_dir: Path | None, candidates: str, n: int, holdout: int | None, device: str,
            quiet: bool) -> None:
    """Choose latentGA's step count for a trained w: the candidate of lowest FID on held-out training
    images. latent-ga and latent-rs-ga then default to it."""
    from latentrw.device import resolve_device
    from latentrw.ga_steps import GA_STEPS_FILE, tune_ga_steps
    from latentrw.run import load_run

    try:
        counts = [int(c) for c in candidates.split(",") if c.strip()]
    except ValueError as exc:
        raise click.BadParameter(f"{candidates!r} is not a comma-separated list of integers", param_hint="--candidates") from exc
    w_dir = w_dir or run_dir / "reweight"
    found = tune_ga_steps(load_run(run_dir, resolve_device(device)), w_dir, counts, n, holdout,
                          progress=(lambda line: None) if quiet else click.echo)
    click.echo(f"latentGA steps for {w_dir}: {found['steps']} (written to {w_dir / GA_STEPS_FILE})")


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
    from latentrw.features import get_extractor
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
