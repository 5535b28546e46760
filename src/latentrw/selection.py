"""Choosing which weights of a training run to keep: an average of G's weights, and model
selection by FID on held-out *training* images.

The test split is what every table reports, so it must never pick the model: with
``holdout = N`` the trainer trains on all but the last N training images and scores its
candidates against those N alone. ``RUN/best/`` then holds the chosen G (raw or averaged),
its D and prior, as a run directory of its own; ``RUN/best/selection.json`` says which
candidate won, against what, and lists every candidate's score.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

from latentrw.data import as_exported
from latentrw.fileio import atomic_write_json

BEST_DIR, SELECTION_FILE = "best", "selection.json"


class WeightAverage:
    """An exponential moving average of a module's parameters, buffers copied as they are.

    The generators the paper post-processes (ProGAN, StyleGAN2) are sampled from such an
    average of G ("G_ema"). It starts from the initial weights; with the decays used
    (0.999 over thousands of G steps) the start is forgotten long before it is evaluated.
    """

    def __init__(self, module: torch.nn.Module, decay: float):
        self.decay = decay
        self.module = copy.deepcopy(module).requires_grad_(False)

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        for avg, p in zip(self.module.parameters(), module.parameters()):
            avg.lerp_(p, 1.0 - self.decay)
        for avg, b in zip(self.module.buffers(), module.buffers()):
            avg.copy_(b)


@torch.no_grad()
def score(G: torch.nn.Module, prior: torch.nn.Module, n: int, seed: int, ref, metrics: tuple[str, ...]) -> dict:
    """``metrics`` of ``n`` samples of G from fixed noise (seeded by ``seed``) against ``ref``;
    G is left in the mode it was in."""
    from latentrw.metrics.evaluate import evaluate_samples

    device = next(G.parameters()).device
    z = prior.sample(n, torch.Generator(device).manual_seed(seed))
    was_training = G.training
    G.eval()
    x = as_exported(torch.cat([G(z[i:i + 1000]).cpu() for i in range(0, n, 1000)]))
    G.train(was_training)
    values = evaluate_samples(x, ref.dataset, metrics, ref=ref, source="G")
    return {k: round(v, 6) for k, v in values.items() if isinstance(v, float)}


class Selection:
    """The best candidate so far by holdout FID, kept in ``RUN/best`` (state survives a resume)."""

    def __init__(self, run_dir: Path, holdout: int):
        self.dir = Path(run_dir) / BEST_DIR
        self.holdout = holdout
        path = self.dir / SELECTION_FILE
        self.state = json.loads(path.read_text()) if path.is_file() else {"candidates": []}

    @property
    def best_fid(self) -> float:
        chosen = self.state.get("selected")
        return chosen["fid"] if chosen else float("inf")

    def offer(self, candidate: dict, export) -> bool:
        """Record ``candidate`` ({epoch, step, weights, fid, ...}); when its FID is the best so
        far, ``export(dir)`` writes its models into ``RUN/best`` first. Returns whether it won."""
        won = candidate["fid"] < self.best_fid
        if won:
            export(self.dir)
            self.state["selected"] = candidate
        # A resumed run re-evaluates its last epoch: that candidate replaces its first record.
        self.state["candidates"] = [c for c in self.state["candidates"]
                                    if (c["epoch"], c["weights"]) != (candidate["epoch"], candidate["weights"])]
        self.state["candidates"].append(candidate)
        self.write()
        return won

    def choose(self, candidate: dict, export) -> None:
        """Keep ``candidate`` whatever its score (``select = "last"``)."""
        export(self.dir)
        self.state["selected"] = candidate
        self.write()

    def write(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.dir / SELECTION_FILE, {
            "rule": "lowest FID on the held-out training images" if self.holdout else "the last step",
            "reference": (f"the last {self.holdout} training samples, never trained on; the test split is "
                          "not used") if self.holdout else None,
            **self.state})
