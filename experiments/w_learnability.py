"""How much of its critic's ranking of latents a trained w learned, against what a w-shaped network can learn.

w can only prefer latents by what is predictable from z. This script takes the critic that w was
trained against (``critic.safetensors`` of the reweighting directory), scores c(z) = critic(G(z)) on
fresh latents, and fits a network of w's own shape (depth and width, linear output) to c(z) by
regression on ``--n-train`` latents. On ``--n-test`` held-out latents it prints:

- the fit's R² and Spearman correlation with c(z): what a w-shaped network *can* represent;
- the trained w's Spearman correlation with c(z): what its trainer *did* learn;
- the spread of w and the acceptance probabilities min(1, w/(m·Ê w)) of latentRS;
- Eq. 6's best response to what w was trained on (``eq6_optimum``, floored as the bank trainer
  floors it): the critic, or with ``d_weight`` > 0 the critic's and the run's D's standardised scores,
  against which the trained w is then ranked too. It prints the share p of latents the best response
  puts at the floor and its Spearman correlation with that reward, floor latents tied and ordered at
  random. Eq. 6 is indifferent to how w orders the floor latents; a best response with that order
  random ranks like its reward at about 1 − p³ (tied: √(1 − p³)), and w* ≥ m above the threshold
  with E w* ≈ 1 puts p near 1 − 1/m (m = 3: 1 − p³ about 0.7);
- where the directory holds ``state.safetensors``: the last w iterate's correlation with c(z) and
  with the saved moving average (low: the iterates cycle), and c(z)'s correlation with the run's
  own D (how far the critic moved from where it started).

A large gap between the two correlations says w is under-trained rather than too small.

    python experiments/w_learnability.py runs/table/mnist-mlp-ns runs/table/mnist-mlp-ns/reweight-s0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from scipy.stats import spearmanr

from latentrw.checkpoint import load_state_into, load_tensors
from latentrw.reweight import ReweightConfig, WNetwork, load_critic, load_w, round_target, scores
from latentrw.run import load_run
from latentrw.w_trainer import CONFIG, STATE, combined_reward


def best_response(reward: torch.Tensor, cfg: ReweightConfig, seed: int = 0) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Eq. 6's best response w* to ``reward`` (floored as the bank trainer floors it): (the share p of
    latents at the floor, w* with the floor latents tied, w* with them in a random order)."""
    best, _ = round_target(reward, cfg)
    at_floor = best <= cfg.floor
    best = best.double()  # float64, so the jitter orders every floor latent
    jitter = torch.rand(len(best), generator=torch.Generator().manual_seed(seed + 1_000_003), dtype=torch.float64) * 1e-6
    return float(at_floor.double().mean()), best, torch.where(at_floor, best + jitter, best)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("w_dir")
    ap.add_argument("--n-train", type=int, default=200_000)
    ap.add_argument("--n-test", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=20_000, help="Adam steps of the regression (batch 256, lr 1e-3)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    run = load_run(args.run)
    w = load_w(args.w_dir)
    critic = load_critic(run.D, args.w_dir)

    g = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    with torch.no_grad():  # no grad also for the latents: a GM prior samples through its learned parameters
        z = run.prior.sample(args.n_train + args.n_test, g)
        c = torch.cat([critic(run.G(zb)).flatten() for zb in z.split(1000)])
        wz = torch.cat([w(zb) for zb in z.split(10_000)])
    z_fit, z_test = z[:args.n_train], z[args.n_train:]
    c_fit, c_test = c[:args.n_train], c[args.n_train:]
    mu, sd = c_fit.mean(), c_fit.std()

    body = WNetwork(z.shape[1], w.config["depth"], w.config["width"]).net  # w's shape, linear output
    opt = torch.optim.Adam(body.parameters(), lr=1e-3)
    for _ in range(args.steps):
        i = torch.randint(args.n_train, (256,), generator=g)
        loss = (body(z_fit[i]).squeeze(1) - (c_fit[i] - mu) / sd).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = body(z_test).squeeze(1) * sd + mu
    r2 = 1 - (pred - c_test).pow(2).mean() / c_test.var()
    w_test = wz[args.n_train:]
    accept = (w_test / (w.config["m"] * w_test.mean())).clamp(max=1)
    print(f"critic(G(z)): std {float(c_test.std()):.3f} over {args.n_test} held-out latents")
    print(f"w-shaped fit ({args.n_train} latents, {args.steps} steps): R2 {float(r2):.3f}, "
          f"Spearman {spearmanr(pred, c_test)[0]:.3f}")
    print(f"trained w: Spearman {spearmanr(w_test, c_test)[0]:.3f}; w mean {float(w_test.mean()):.3f}, "
          f"std {float(w_test.std()):.3f}; latentRS acceptance probability std {float(accept.std()):.3f}")
    cfg = ReweightConfig.from_dict(json.loads((Path(args.w_dir) / CONFIG).read_text()))
    reward, what = c_test, "c(z)"
    if cfg.d_weight:
        with torch.no_grad():
            d_run = torch.cat([scores(run.D.eval(), run.G(zb)) for zb in z_test.split(1000)])
        # standardised over the held-out latents, as the trainer standardises each bank
        reward, what = combined_reward(c_test, d_run, cfg.d_weight), f"c(z) + {cfg.d_weight:g} D(G(z)), standardised"
        print(f"trained w: Spearman {spearmanr(w_test, reward)[0]:.3f} with its reward, {what}")
    p, tied, shuffled = best_response(reward, cfg, args.seed)
    print(f"Eq. 6's best response to {what} (m = {cfg.m:g}): {p:.3f} of the latents at the floor; "
          f"Spearman with its reward {spearmanr(tied, reward)[0]:.3f} (floor tied), "
          f"{spearmanr(shuffled, reward)[0]:.3f} (floor in random order; 1 - p^3 = {1 - p ** 3:.3f})")
    if cfg.d_weight:
        print(f"the same best response: Spearman with c(z) {spearmanr(tied, c_test)[0]:.3f} (floor tied), "
              f"{spearmanr(shuffled, c_test)[0]:.3f} (floor in random order)")
    state = Path(args.w_dir) / STATE
    if state.is_file():
        tensors = load_tensors(state)[0]
        last = WNetwork(**w.config)
        load_state_into(last, {k[2:]: v for k, v in tensors.items() if k.startswith("w.")}, state)
        with torch.no_grad():
            w_last = last(z_test)
            d_test = torch.cat([run.D(run.G(zb)).flatten() for zb in z_test.split(1000)])
        print(f"last w iterate: Spearman {spearmanr(w_last, c_test)[0]:.3f} with c(z), "
              f"{spearmanr(w_last, w_test)[0]:.3f} with the saved average; "
              f"c(z) vs the run's D: Spearman {spearmanr(c_test, d_test)[0]:.3f}")


if __name__ == "__main__":
    main()
