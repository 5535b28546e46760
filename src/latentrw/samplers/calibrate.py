"""The calibrated discriminator shared by DRS, MH-GAN and SIR (and DDLS, DGflow).

A GAN's discriminator at the end of training is not the Bayes-optimal classifier of real vs
G samples, so its logit is a poor estimate of log p_data/p_G. Following Azadi et al. (2019,
§3.2) and Issenhuth et al. (2022, §4.3), a copy of the run's D is fine-tuned with binary
cross-entropy on real vs generated samples, equal numbers of each so that its logit d(x)
estimates log p_data(x)/p_G(x). The run's gradient penalty is kept if it had one (paper §4.3); it
biases the logit toward unit slope, which the Platt scaling below partly undoes -- a trade-off
the paper makes for stability.

The last ``heldout`` points of the training split are held out from the fine-tuning (the GAN
itself saw them) and split in two halves. Every ``eval_every`` steps the checkpoint gets a Platt
scaling a·d + b (Turner et al. 2019, §4; skipped with ``platt=False``) fitted on the first half
against fresh G samples, and a score on the second: the EMD, in the evaluation features, between
those real points and G's samples importance-weighted by e^{a·d+b}. The checkpoint with the lowest
score is kept with its own a and b.

Written to ``RUN/calibrated/``: ``D.safetensors`` (the kept D, Platt a and b in its header)
and ``calibration.json`` (config and the log of every scored checkpoint).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from latentrw.checkpoint import load_tensors, save_module
from latentrw.errors import CheckpointError, ConfigError, TrainingDiverged
from latentrw.fileio import atomic_write_json
from latentrw.metrics.emd import emd as metric_emd
from latentrw.objectives import gradient_penalty
from latentrw.run import load_model_file

DIR, D_FILE, LOG_FILE = "calibrated", "D.safetensors", "calibration.json"


class CalibratedLogit(nn.Module):
    """d(x) = a·D(x) + b: a logit estimating log p_data/p_G."""

    def __init__(self, D: nn.Module, a: float = 1.0, b: float = 0.0):
        super().__init__()
        self.D, self.a, self.b = D, float(a), float(b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a * self.D(x).reshape(-1) + self.b


@dataclass
class CalibrationConfig:
    """Fine-tuning hyperparameters (ours unless noted)."""

    steps: int = 2000
    batch_size: int = 256
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    gp_weight: float = 0.0  # the CLI and scripts pass run_gp_weight(run.config) (paper §4.3: keep the run's GP)
    eval_every: int = 250
    heldout: int = 5000  # the last points of the training split, held out from fine-tuning
    eval_n: int = 2000  # real and generated points for each Platt fit and each EMD score
    platt: bool = True
    seed: int = 0
    select: str = "emd"  # "emd": the step of lowest held-out EMD (paper §4.3); "last": the plain fine-tuned classifier

    def __post_init__(self) -> None:
        if self.select not in ("emd", "last"):
            raise ConfigError(f"select must be 'emd' or 'last', not {self.select!r}")


def run_gp_weight(train_config) -> float:
    """The fine-tuning penalty for a run: the one its D was trained with, 0 if none (paper §4.3)."""
    return float(getattr(train_config, "gp_weight", None) or 0.0)


def _platt(d_real: torch.Tensor, d_fake: torch.Tensor) -> tuple[float, float]:
    """a, b minimising the cross-entropy of σ(a·d + b) on held-out real (1) vs fake (0)."""
    d = torch.cat([d_real, d_fake]).double()
    y = torch.cat([torch.ones(len(d_real)), torch.zeros(len(d_fake))]).double()
    ab = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([ab], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(ab[0] * d + ab[1], y)
        loss.backward()
        return loss

    opt.step(closure)
    return float(ab[0]), float(ab[1])


def calibrate(run, real: torch.Tensor, config: CalibrationConfig, out_dir: Path | str | None = None,
              extractor=None, progress: bool = False) -> tuple[CalibratedLogit, dict]:
    """Fine-tune and calibrate a copy of ``run.D`` (see the module docstring); ``real`` is the
    training split in model scale, ``extractor`` the dataset's feature extractor (None: raw
    coordinates). Returns the calibrated logit and the log; writes both to ``out_dir`` if given."""
    cfg = config
    if len(real) <= cfg.heldout + cfg.batch_size:
        raise ValueError(f"calibration needs more than heldout + batch_size = {cfg.heldout + cfg.batch_size} "
                         f"real points, got {len(real)}")
    dev = real.device
    train_real, held = real[:-cfg.heldout], real[-cfg.heldout:]
    half = min(cfg.eval_n, len(held) // 2)
    platt_real, score_real = held[:half], held[half:2 * half]
    g = torch.Generator(dev).manual_seed(cfg.seed)
    feats = extractor or (lambda x: (x.double().cpu(), None))

    def fakes(n: int) -> torch.Tensor:
        return torch.cat([run.G(run.prior.sample(500, g)) for _ in range(-(-n // 500))])[:n]

    def logits(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([D(x[i:i + 500]).reshape(-1) for i in range(0, len(x), 500)]).cpu()

    with torch.no_grad():
        score_fake, platt_fake = fakes(half), fakes(half)
        real_f, fake_f = feats(score_real)[0], feats(score_fake)[0]
    D = copy.deepcopy(run.D).train()
    opt = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=cfg.betas)
    log, best = [], None

    def score(step: int, bce: float | None) -> None:
        nonlocal best
        D.eval()
        with torch.no_grad():
            a, b = _platt(logits(platt_real), logits(platt_fake)) if cfg.platt else (1.0, 0.0)
            # G's samples importance-weighted by e^{a·d+b} against the held-out real points
            emd = metric_emd(fake_f, real_f, weights_a=torch.softmax(a * logits(score_fake).double() + b, 0))
        D.train()
        log.append({"step": step, "bce": bce, "heldout_emd": emd, "platt": [a, b]})
        if best is None or emd < best[0] or (cfg.select == "last" and step == cfg.steps):
            best = (emd, step, copy.deepcopy(D.state_dict()), a, b)

    score(0, None)  # the run's own D, before any step: no BCE yet (null in the JSON, not NaN)
    for step in tqdm(range(1, cfg.steps + 1), desc="calibrate D", disable=not progress, dynamic_ncols=True):
        x_real = train_real[torch.randint(len(train_real), (cfg.batch_size,), generator=g, device=dev)]
        with torch.no_grad():
            x_fake = run.G(run.prior.sample(cfg.batch_size, g))
        loss = _bce_step(D, opt, x_real, x_fake, cfg.gp_weight, g)
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"calibration diverged at step {step} (loss {float(loss)}); lower --lr")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            score(step, loss.item())
    _, chosen, state, a, b = best
    D.load_state_dict(state)
    D.eval()
    info = {"config": asdict(cfg), "chosen_step": chosen, "heldout_emd": best[0], "platt": [a, b], "log": log}
    if out_dir is not None:
        _save(Path(out_dir), run, D, info)
    return CalibratedLogit(D, a, b), info


def _bce_step(D: nn.Module, opt: torch.optim.Optimizer, x_real: torch.Tensor, x_fake: torch.Tensor,
              gp_weight: float, g: torch.Generator) -> torch.Tensor:
    """One step of binary cross-entropy (real 1, fake 0), with the run's gradient penalty if any."""
    d_real, d_fake = D(x_real).reshape(-1), D(x_fake).reshape(-1)
    loss = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real)) + \
        F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
    if gp_weight > 0:
        loss = loss + gp_weight * gradient_penalty(D, x_real, x_fake, g)[0]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def _save(out: Path, run, D: nn.Module, info: dict) -> None:
    """The calibrated D (the run's D header, plus Platt's a, b and the chosen step) and the log."""
    out.mkdir(parents=True, exist_ok=True)
    _, d_header = load_tensors(run.path / "D.safetensors")
    save_module(out / D_FILE, D, {**d_header, "platt": info["platt"], "chosen_step": info["chosen_step"]})
    atomic_write_json(out / LOG_FILE, info)


def load_calibrated(directory: Path | str, device: torch.device | str = "cpu") -> CalibratedLogit:
    """The calibrated logit of a run (``RUN/calibrated``, from ``latentrw calibrate RUN``)."""
    path = Path(directory) / D_FILE
    if not path.is_file():
        raise CheckpointError(f"{path} not found: calibrate the run's discriminator first "
                              f"(`latentrw calibrate RUN`)")
    D, header = load_model_file(path, device)
    try:
        a, b = header["platt"]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: header holds no Platt parameters ({exc})") from exc
    return CalibratedLogit(D.eval(), a, b)
