"""The paper's Table 1 (Issenhuth et al. 2022: EMD on the Swiss roll and 25 Gaussians, "in the
same setting as DOT") -- its protocol in one place, and the table printed beside the paper's.

What DOT's public 2-D demo (Tanaka 2019, ``demo_2d.ipynb`` and ``model.py``) fixes, latentrw
follows: the data and its scaling (:mod:`latentrw.data.synthetic`) and 1,000 samples per
evaluation. What neither paper nor demo publishes, and the choice made here:

- **G's training** (DOT ships trained models only; the file names say WGAN-GP, the notebook that
  they come from Gulrajani et al.'s ``gan_toy.py``): ``gan_toy.py``'s settings -- penalty weight
  0.1, 5 critic steps per G step, batch 256, Adam 1e-4 (β 0.5, 0.9) -- on the first 40,000 of
  the 50,000 training points, until G's base is within 1.8× the real-vs-real floor (:func:`train_until`:
  checked every 10 epochs against the 10,000 held-out training points, never the test split; 1.8
  leaves a margin for the floor's noise under the 2× aimed at).
  How far G is from its floor decides what latentRS can gain: ``experiments/table1_epochs.py``
  measures it.
- **The floor**: the real-vs-real EMD of 1,000 training points, drawn again with each seed
  (``floor_per_seed``) and averaged: at 1,000 points one draw varies by ±15 %.
- **The models**: ``gan_toy.py``'s, three hidden layers of 512 ReLU in G and D. DOT's shipped
  models are smaller (G 3×256, D 3×512, leaky ReLU: ``activation="leaky_relu"``), but with them
  and these settings the 25-Gaussians G was still a uniform square after 30 epochs (Adam 5e-4),
  far from converged within this CPU's budget.
- **The latent**: 2-D Gaussian, as in ``gan_toy.py`` (DOT's demo draws U(-1, 1)²; DDLS and
  DGflow need a density on the whole latent space).
- **The EMD**: exact, each record the mean over 5 subsets of 1,000 test points against the 1,000
  samples drawn (``N``), with two ground costs (:data:`METRICS`). The paper's formula writes the
  Euclidean cost, but its values sit below this protocol's Euclidean real-vs-real floor
  (0.09), so they cannot be Euclidean EMDs between 1,000 i.i.d. points at DOT's scale. The
  squared Euclidean cost -- what POT's ``ot.dist`` builds unless told otherwise -- puts the shipped
  bases nearer the paper's scale (0.050 and 0.057 against its 0.030 and 0.044). Neither pins the
  paper's protocol down, so only each method's ratio to its own base compares across the tables.
- **DOT** runs in latent space (latentrw's ``dot``; DOT's demo transports in data space), 100
  steps as the demo does. So that 10 seeds fit 30 minutes on 2 CPU cores (:data:`OPTIONS`,
  :data:`CALIBRATION`): MH-GAN runs chains of K = 64 (its default 640 took 65 ms per sample,
  more than all the other samplers together), DDLS 50 Langevin steps, and the calibration 250
  fine-tuning steps.
- **w** is the ``bank`` trainer (60 rounds of 17 critic steps, the mean of its last 5 rounds' w
  saved), each round on a bank of 10,000 G(z) (:data:`W_OPTIONS`; the default: 20,000), to fit the
  budget, with the critic's Adam rate 1e-4 and 200 regression steps per round: the default when
  the table was measured (today's: 3e-5 and 100). On the 100-epoch generators shipped before, the
  earlier default (20 rounds of 50 critic steps, the last w saved) left latentRS below base in 6 of
  10 seeds on 25 Gaussians, these settings in 10 of 10.
- **Seeds**: G is fixed; w and the calibrated D are trained again
  with each of :data:`SEEDS`, which also seeds the sampling. Cells are mean ± 97 % Student-t
  interval, the paper's level.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from latentrw.bench import BenchConfig
from latentrw.config import TrainConfig
from latentrw.data import load_dataset
from latentrw.fileio import atomic_write_json
from latentrw.metrics.evaluate import protocol_emd
from latentrw.run import LOG, load_run
from latentrw.sample import draw_latents
from latentrw.stats import mean_ci
from latentrw.train import train

DATASETS = ("swissroll", "25gaussians")
# The paper's Table 1: EMD, mean ± 97 % CI (its rows; "WGAN" is base).
PAPER: dict[str, dict[str, tuple[float, float]]] = {
    "swissroll": {"base": (0.030, 0.002), "drs": (0.036, 0.004), "sir": (0.037, 0.003), "dot": (0.029, 0.003),
                  "latent-rs": (0.025, 0.002)},
    "25gaussians": {"base": (0.044, 0.001), "drs": (0.038, 0.002), "sir": (0.041, 0.001), "dot": (0.035, 0.002),
                    "latent-rs": (0.036, 0.001)},
}
SAMPLERS = ("base", "drs", "sir", "dot", "latent-rs", "latent-rs-ga", "mh-gan", "ddls", "dgflow")
N, SEEDS, LEVEL = 1000, tuple(range(10)), 0.97
# G's stopping rule: train in stages of CHECK_EVERY epochs until its base EMD on the held-out
# training points is within STOP_RATIO x their real-vs-real floor (at most MAX_EPOCHS). 1.8, not
# the 2 aimed at: the floor's mean over 10 draws still varies by ~5 %, and a G stopped at 1.998 on
# the holdout read 2.16 against the test split's floor.
HOLDOUT, CHECK_EVERY, STOP_RATIO, MAX_EPOCHS = 10_000, 10, 1.8, 200
STOPPING = "stopping.json"  # RUN/stopping.json: the rule's checks, one per stage
OPTIONS = {"dot": {"steps": 100},  # DOT's 2-D demo: 100 transport steps
           "ddls": {"steps": 50},  # of its default 1,000 Langevin steps, to fit the budget
           "mh-gan": {"k": 64}}  # of its default chain length 640 (latentrw's --quick setting), the same
CALIBRATION = {"steps": 250, "eval_every": 50}  # of the default 2,000 BCE steps, to fit the budget
# half the default bank of G(z) per round, to fit the budget; the critic's rate and the regression
# steps of the bank trainer's default before, which the table was measured with (docs/results.md
# compares today's default on the same seeds)
W_OPTIONS = {"bank": 10_000, "lr_d": 1e-4, "w_steps": 200}
# The two ground costs the table is printed with (metric name in the records -> heading).
METRICS = {"emd": "EMD with Euclidean cost: the paper's formula",
           "emd_sq": "EMD with squared Euclidean cost (POT's `ot.dist` default): the paper's scale"}


def train_config(dataset: str, epochs: int = MAX_EPOCHS) -> TrainConfig:
    """The toy WGAN-GP of the protocol on ``dataset`` (the last :data:`HOLDOUT` training points
    held out for the stopping rule)."""
    return TrainConfig(dataset=dataset, model="toy", objective="wgan-gp", epochs=epochs, batch_size=256,
                       gp_weight=0.1, n_critic=5, lr_g=1e-4, lr_d=1e-4, betas=(0.5, 0.9),
                       g_options={"hidden": [512] * 3}, d_options={"hidden": [512] * 3}, holdout=HOLDOUT,
                       device="cpu", seed=0)


def _holdout(run_dir: Path | str, run=None) -> tuple[np.ndarray, np.ndarray]:
    """The run's training part and its held-out training points (never the test split)."""
    run = run or load_run(run_dir)
    train_part, holdout = load_dataset(run.config.dataset).hold_out(run.config.holdout)
    if holdout is None:
        raise ValueError(f"{run_dir}: trained without held-out points (holdout 0); the stopping rule needs them")
    return train_part.model_input("train").numpy(), holdout.model_input("train").numpy()


def holdout_floor(run_dir: Path | str, seeds: Sequence[int] = SEEDS) -> float:
    """The real-vs-real EMD against the held-out training points, as :func:`stopping_check`
    measures G: per seed N training points against 5 subsets of N held-out ones; the mean over seeds."""
    pool, held = _holdout(run_dir)
    draws = (pool[np.random.default_rng(seed).choice(len(pool), N, replace=False)] for seed in seeds)
    return float(np.mean([protocol_emd(x, held, seed)[0] for x, seed in zip(draws, seeds)]))


def stopping_check(run_dir: Path | str, seeds: Sequence[int] = SEEDS, floor: float | None = None) -> dict:
    """G's base EMD against the held-out training points (never the test split), as the table
    measures it: per seed N samples (the bench's base draw) against 5 subsets of N held-out points;
    the mean over seeds, and its ratio to ``floor`` (default: :func:`holdout_floor`)."""
    run = load_run(run_dir)
    _, held = _holdout(run_dir, run)
    floor = holdout_floor(run_dir, seeds) if floor is None else floor
    with torch.no_grad():
        fakes = (run.G(draw_latents(run.prior, N, seed)).numpy() for seed in seeds)
        base = float(np.mean([protocol_emd(x, held, seed)[0] for x, seed in zip(fakes, seeds)]))
    return {"base_emd": round(base, 5), "floor_emd": round(floor, 5), "ratio": round(base / floor, 4)}


def _epochs_trained(run_dir: Path) -> int:
    log = run_dir / LOG
    lines = log.read_text().splitlines() if log.is_file() else []
    return json.loads(lines[-1])["epoch"] if lines else 0


def train_until(dataset: str, run_dir: Path | str, seeds: Sequence[int] = SEEDS) -> dict:
    """Train the protocol's G on ``dataset`` in stages of :data:`CHECK_EVERY` epochs until
    :func:`stopping_check` puts its base within :data:`STOP_RATIO` of the floor, or
    :data:`MAX_EPOCHS`; every check (over ``seeds``) goes to ``RUN/stopping.json``. Resumes an
    interrupted run, and goes on training a run stopped by a looser rule."""
    run_dir = Path(run_dir)
    path = run_dir / STOPPING
    state = json.loads(path.read_text()) if path.is_file() else {"checks": []}
    state.pop("stopped_at", None)  # set again below, under this rule
    state["rule"] = {"check_every": CHECK_EVERY, "stop_ratio": STOP_RATIO, "max_epochs": MAX_EPOCHS,
                     "against": "holdout"}
    checks = state["checks"]
    while not checks or (checks[-1]["ratio"] > STOP_RATIO and checks[-1]["epoch"] < MAX_EPOCHS):
        epochs = min((checks[-1]["epoch"] if checks else 0) + CHECK_EVERY, MAX_EPOCHS)
        trained = _epochs_trained(run_dir)
        if trained > epochs:
            raise ValueError(f"{run_dir} is trained to epoch {trained}, but its {STOPPING} has checks only to epoch "
                             f"{epochs - CHECK_EVERY}: train the protocol's G in a new directory")
        if trained < epochs:  # equal: stopped between its training and its check
            train(train_config(dataset, epochs), run_dir, progress=False)
        if "floor_emd" not in state:
            state["floor_emd"] = holdout_floor(run_dir, seeds)
        checks.append({"epoch": epochs, **stopping_check(run_dir, seeds, state["floor_emd"])})
        atomic_write_json(path, state)
    state["stopped_at"] = checks[-1]["epoch"]
    atomic_write_json(path, state)
    return state


def bench_config(checkpoint: str, seeds: Sequence[int] = SEEDS) -> BenchConfig:
    """The bench of one generator: every sampler of the table, w and D retrained per seed."""
    return BenchConfig("synthetic", samplers=SAMPLERS, seeds=tuple(seeds), n=N, options=OPTIONS,
                       checkpoints=(checkpoint,), metrics=("emd_sq", "emd", "prdc"), retrain_per_seed=True,
                       w_options=W_OPTIONS, calibration_options=CALIBRATION, floor_per_seed=True)


def _mean(by_seed: dict[int, float]) -> float:
    return sum(by_seed.values()) / len(by_seed)


def _cell(values: list[float]) -> str:
    mean, _, half = mean_ci(values, LEVEL)
    return f"{mean:.3f} ± {half:.3f}" if len(values) > 1 else f"{mean:.3f}"


def table(records: list[dict], metric: str = "emd") -> str:
    """Markdown: per dataset and sampler the paper's EMD and its ratio to the paper's base, then
    latentrw's ``metric`` (:data:`METRICS`; mean ± 97 % CI over seeds), its ratio to base, and the
    seeds below base."""
    lines = ["| method | " + " | ".join(f"paper: {d} | ratio | latentrw: {d} | ratio | below base" for d in DATASETS)
             + " |", "|---" * (1 + 5 * len(DATASETS)) + "|"]
    values = {d: {} for d in DATASETS}  # dataset -> sampler -> {seed: value}
    floors = {d: [] for d in DATASETS}  # one draw per seed: at N = 1,000 a single draw is noisy
    for r in records:
        d = r["dataset"]
        if d not in values or metric not in r["metrics"]:
            continue
        if r["sampler"] == "real":
            floors[d].append(r["metrics"][metric])
        elif "knob" not in r:
            values[d].setdefault(r["sampler"], {})[r["seed"]] = r["metrics"][metric]
    for s in SAMPLERS:
        cells = []
        for d in DATASETS:
            paper, base = PAPER[d].get(s), PAPER[d]["base"][0]
            cells += [f"{paper[0]:.3f} ± {paper[1]:.3f}", f"{paper[0] / base:.2f}"] if paper else ["", ""]
            ours, ours_base = values[d].get(s, {}), values[d].get("base", {})
            if not ours:
                cells += ["not run", "", ""]
                continue
            ratio = _mean(ours) / _mean(ours_base) if ours_base else float("nan")
            below = sum(ours[k] < ours_base[k] for k in ours if k in ours_base)
            cells += [_cell(list(ours.values())), f"{ratio:.2f}", "" if s == "base" else f"{below}/{len(ours)}"]
        lines.append(f"| {'WGAN-GP (base)' if s == 'base' else s} | " + " | ".join(cells) + " |")
    for d in DATASETS:
        if floors[d] and values[d].get("base"):
            floor = sum(floors[d]) / len(floors[d])
            draws = f"mean of {len(floors[d])} draws" if len(floors[d]) > 1 else "one draw"
            lines.append(f"\n{d}: real-vs-real floor {floor:.3f} at N = {N} ({draws}); "
                         f"base / floor {_mean(values[d]['base']) / floor:.2f}")
    return "\n".join(lines)


def tables(records: list[dict]) -> str:
    """Both of :data:`METRICS`' tables, each under a heading that names its ground cost."""
    return "\n\n".join(f"### {title}\n\n{table(records, metric)}" for metric, title in METRICS.items())
