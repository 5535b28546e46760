"""Which proposals a selecting sampler accepted, by score: the histogram of the scores of the
accepted proposals against those of the rejected ones.

The scores are not recomputed. The sampler's own score module (``w`` for latent-rs,
latent-rs-ga and latent-sir; the calibrated logit ``disc`` for drs and sir) is wrapped, after
``fit``, in a recorder that keeps every output in stream order. The proposals the sampler
considered are the first ``cost.proposals`` of those (each of these samplers walks the proposal
stream in order; later evaluations are the unused rest of the last block), the accepted are the
batch's own scores, and the rejected counts are the difference — exact, and checked to be
non-negative in every bin. MH-GAN is not a selecting sampler in this sense: its output is the
final state of a chain.
"""

from __future__ import annotations

import numpy as np
import torch

from latentrw.samplers.base import ProposalStream, SampleBatch, Sampler

SCORE = {"w": ("w", "w(z)"), "disc": ("logit", "calibrated logit d(x)")}


class _Recorder(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner, self.outputs = inner, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.inner(x)
        self.outputs.append(y.detach().reshape(-1).cpu())
        return y


def acceptance_histogram(sampler: Sampler, n: int, proposals: ProposalStream,
                         bins: int = 60) -> tuple[dict, SampleBatch]:
    """Draw ``n`` samples from a fitted selecting sampler on ``proposals`` and count the accepted and the rejected
    proposals' scores on common bins. Returns a JSON-ready dict (``edges``, ``accepted``,
    ``rejected`` counts, ``proposals``, ``acceptance`` = n / proposals, ``score``: the axis
    label) and the batch drawn."""
    attr = sampler.selects_by
    if attr is None:
        from latentrw.samplers import SAMPLERS

        selecting = [s for s in SAMPLERS.names() if SAMPLERS.get(s).selects_by]
        raise ValueError(f"{sampler.name} is not a selecting sampler; choose from {', '.join(selecting)}")
    recorder = _Recorder(getattr(sampler, attr))
    setattr(sampler, attr, recorder)
    try:
        batch = sampler.sample_from(n, proposals)
    finally:
        setattr(sampler, attr, recorder.inner)
    considered = torch.cat(recorder.outputs)[:int(batch.cost.proposals)].double().numpy()
    accepted = batch.scores[SCORE[attr][0]].double().numpy()
    edges = np.histogram_bin_edges(considered, bins=bins)
    all_counts, _ = np.histogram(considered, edges)
    acc_counts, _ = np.histogram(accepted, edges)
    rejected = all_counts - acc_counts
    if (rejected < 0).any():
        raise RuntimeError(f"{sampler.name}: accepted scores are not among the considered proposals' scores")
    return {"sampler": sampler.name, "score": SCORE[attr][1], "edges": edges.tolist(),
            "accepted": acc_counts.tolist(), "rejected": rejected.tolist(), "n": n,
            "proposals": len(considered), "acceptance": n / len(considered), "params": sampler.params()}, batch


def plot_acceptance_histograms(hists: list[dict], path, title: str = "") -> None:
    """One panel per sampler: accepted (green) and rejected (red) counts over the score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(hists))
    rows = -(-len(hists) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat[len(hists):]:
        ax.axis("off")
    for ax, h in zip(axes.flat, hists):
        edges = np.array(h["edges"])
        for key, color in (("rejected", "tab:red"), ("accepted", "tab:green")):
            ax.stairs(h[key], edges, label=f"{key} ({sum(h[key]):,})", color=color, fill=True, alpha=0.45)
        ax.set(xlabel=h["score"], ylabel="proposals", title=f"{h['sampler']}: acceptance {h['acceptance']:.3f}")
        ax.title.set_fontsize(9)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, bbox_inches="tight", dpi=110)
    plt.close(fig)
