"""A GAN written outside latentrw: plain PyTorch, its own training loop, its own file format.

Nothing here imports latentrw. ``run_example.sh`` trains it briefly on the Swiss roll, saves
its weights as safetensors, wraps it as a latentrw run (``latentrw import-gan``) and runs the
whole post-hoc pipeline on it. With ``--mapping`` the generator is StyleGAN-shaped: a mapping
network z -> W feeds a synthesis network, trained together and saved as two files, so that
latentrw can reweight the intermediate latent W as the paper does for StyleGAN2."""

import argparse

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn


def make_generator(z_dim: int = 2, width: int = 128) -> nn.Module:
    return nn.Sequential(nn.Linear(z_dim, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2))


def make_mapping(z_dim: int = 2, w_dim: int = 8, width: int = 64) -> nn.Module:
    """StyleGAN's mapping network in miniature: z -> W through a LeakyReLU MLP."""
    return nn.Sequential(nn.Linear(z_dim, width), nn.LeakyReLU(0.2), nn.Linear(width, width), nn.LeakyReLU(0.2),
                         nn.Linear(width, w_dim))


class Critic(nn.Module):
    def __init__(self, width: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, x):
        return self.net(x).squeeze(1)  # one logit per sample


def make_critic(width: int = 128) -> nn.Module:
    return Critic(width)


def swiss_roll(n: int, rng: np.random.Generator) -> torch.Tensor:
    """The distribution of latentrw's ``swissroll`` dataset (its metrics' reference)."""
    t = 1.5 * np.pi * (1 + 2 * rng.random(n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], 1) + 0.25 * rng.standard_normal((n, 2))
    return torch.tensor(x / 3.0, dtype=torch.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--out", default="outside")
    ap.add_argument("--mapping", action="store_true", help="z -> W mapping + synthesis network on W (8-d)")
    args = ap.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    D = make_critic()
    if args.mapping:
        mapping, synthesis = make_mapping(), make_generator(z_dim=8)
        G = nn.Sequential(mapping, synthesis)
    else:
        G = make_generator()
    opt_g = torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.9))
    bce = nn.BCEWithLogitsLoss()
    for step in range(args.steps):  # a textbook non-saturating GAN
        real, fake = swiss_roll(256, rng), G(torch.randn(256, 2))
        loss_d = bce(D(real), torch.ones(256)) + bce(D(fake.detach()), torch.zeros(256))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(D(fake), torch.ones(256))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        if step % 500 == 0:
            print(f"step {step}: loss_d {loss_d.item():.3f} loss_g {loss_g.item():.3f}")
    if args.mapping:
        save_file(mapping.state_dict(), f"{args.out}_mapping.safetensors")
        G = synthesis
    save_file(G.state_dict(), f"{args.out}_G.safetensors")
    save_file(D.state_dict(), f"{args.out}_D.safetensors")
    print(f"wrote {args.out}_G.safetensors and {args.out}_D.safetensors" + (" and the mapping" if args.mapping else ""))


if __name__ == "__main__":
    main()
