"""The paper's pictures of latent reweighting, drawn for any run and its trained w.

- :func:`fig_2d` -- Fig. 2 analogue (2-D data): real points, base samples, latentRS samples
  and a heat map of w over the latent plane (2-d latents only);
- :func:`fig_sorted_by_acceptance` -- Fig. 4 analogue: samples sorted by their latentRS
  acceptance probability min(1, w/c), the probability written under each;
- :func:`fig_ga_path` -- Fig. 5 analogue: rows of images along latentGA paths, w under each;
- :func:`fig_w_histogram` -- the distribution of w(z)/m under the prior.

:func:`reweight_figures` draws those that apply into a directory (``latentrw reweight``
calls it when w training ends; ``latentrw figures RUN`` redraws them).
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

from latentrw.data import to_uint8_images
from latentrw.fileio import atomic_write_bytes
from latentrw.samplers.latent import LatentRS, latent_ascent, projectable


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    """Write ``fig`` as a PNG atomically and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=110)
    pyplot().close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


@torch.no_grad()
def fig_2d(real: torch.Tensor, base: torch.Tensor, rs: torch.Tensor, w: torch.nn.Module | None, path: Path,
           extent: float = 3.0) -> Path:
    """Real points, base samples, latentRS samples (same axes) and, when ``w`` takes 2-d
    latents, w over [-extent, extent]² in latent space."""
    plt = pyplot()
    panels = 4 if w is not None and w.config.get("z_dim") == 2 else 3
    fig, axes = plt.subplots(1, panels, figsize=(3.2 * panels, 3.2))
    lim = float(torch.cat([real, base]).abs().quantile(0.995)) * 1.1
    for ax, pts, title, color in zip(axes, (real, base, rs), ("real data", "base G(z)", "latentRS"),
                                     ("0.3", "tab:blue", "tab:green")):
        ax.scatter(*pts[:2500].cpu().numpy().T, s=1, c=color)
        ax.set(title=title, xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
    if panels == 4:
        g = torch.linspace(-extent, extent, 200)
        zz = torch.stack(torch.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2)
        device = next(w.parameters()).device
        values = w(zz.to(device)).cpu().reshape(200, 200).numpy()
        im = axes[3].imshow(values, origin="lower", extent=(-extent, extent, -extent, extent), cmap="viridis")
        axes[3].set(title="w(z) on the latent plane", xlabel="z1", ylabel="z2")
        fig.colorbar(im, ax=axes[3], fraction=0.046)
    return save_figure(fig, path)


def fig_sorted_by_acceptance(images: torch.Tensor, accept_prob: torch.Tensor, path: Path, ncol: int = 10,
                             nrow: int = 6) -> Path:
    """``nrow·ncol`` uint8 images (N, H, W) spread evenly over their acceptance-probability
    ranking, from the least likely to be accepted (top left) to the most (bottom right)."""
    plt = pyplot()
    order = torch.argsort(accept_prob)
    pick = order[torch.linspace(0, len(order) - 1, nrow * ncol).round().long()]
    fig, axes = plt.subplots(nrow, ncol, figsize=(ncol * 0.9, nrow * 1.05))
    for ax, i in zip(axes.flat, pick.tolist()):
        ax.imshow(images[i].cpu().numpy(), cmap="gray", vmin=0, vmax=255)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_xlabel(f"{float(accept_prob[i]):.2f}", fontsize=7, labelpad=1)
    fig.suptitle("samples sorted by latentRS acceptance probability min(1, w/c)", fontsize=9)
    return save_figure(fig, path)


@torch.no_grad()
def fig_ga_path(G: torch.nn.Module, w: torch.nn.Module, z0: torch.Tensor, path: Path, steps: int = 40,
                step_size: float = 0.1, every: int = 5, mode: str = "log", prior=None) -> Path:
    """One row per starting latent in ``z0``: G along its latentGA path (every ``every`` steps),
    w(z) under each image."""
    plt = pyplot()
    zs = [z0]
    for _ in range(steps // every):
        zs.append(latent_ascent(w, zs[-1], every, step_size, mode, prior))
    fig, axes = plt.subplots(len(z0), len(zs), figsize=(len(zs) * 0.95, len(z0) * 1.1), squeeze=False)
    for j, z in enumerate(zs):
        images, wz = to_uint8_images(G(z).cpu()), w(z).cpu()
        for i in range(len(z0)):
            ax = axes[i, j]
            ax.imshow(images[i].numpy(), cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_xlabel(f"{float(wz[i]):.2f}", fontsize=7, labelpad=1)
            if i == 0:
                ax.set_title(f"step {j * every}", fontsize=7)
    fig.suptitle(f"latentGA paths ({mode} mode, step {step_size}); w(z) under each image", fontsize=9)
    return save_figure(fig, path)


def fig_w_histogram(w_over_m: torch.Tensor, path: Path, acceptance: float | None = None) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 3))
    ax.hist(w_over_m.cpu().numpy(), bins=80, color="tab:blue")
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    title = f"w(z)/m under the prior; mean {float(w_over_m.mean()):.3f}"
    if acceptance is not None:
        title += f", latentRS acceptance {acceptance:.3f}"
    ax.set(xlabel="w(z) / m", ylabel="latents", title=title)
    ax.title.set_fontsize(8)
    return save_figure(fig, path)


@torch.no_grad()
def reweight_figures(run, w: torch.nn.Module, out_dir: Path | str, n: int = 5000, seed: int = 0) -> list[Path]:
    """Draw every figure that applies to ``run`` and its trained ``w`` into ``out_dir``."""
    from latentrw.data import load_dataset
    from latentrw.sample import draw, generate

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rs = LatentRS(w).fit(run)
    base_x, z = generate(run, n, seed)
    z = z.to(run.prior.device)
    wz = w(z)
    written = [fig_w_histogram((wz / rs.m).cpu(), out_dir / "w_histogram.png", rs.expected_acceptance_)]
    if base_x.dim() == 2:  # 2-D data
        real = load_dataset(run.config.dataset).x_test
        rs_x = draw(rs, run, n, seed).x
        written.append(fig_2d(real, base_x, rs_x, w, out_dir / "fig2_2d.png"))
        return written
    images = to_uint8_images(base_x)
    written.append(fig_sorted_by_acceptance(images, torch.clamp(wz / rs.c_, max=1).cpu(),
                                            out_dir / "fig4_sorted_by_acceptance.png"))
    low = torch.argsort(wz)[:: max(1, n // 8)][:8]  # start from a spread of w values, lowest first
    prior = run.prior if projectable(run.prior) else None
    written.append(fig_ga_path(run.G, w, z[low], out_dir / "fig5_ga_path.png", prior=prior))
    return written
