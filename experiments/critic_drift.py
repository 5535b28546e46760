"""How far w's critic moves from round to round, and which critics the final w agrees with.

Trains the bank w on a run (``--seed``, ``--opt KEY=VALUE``; the default config otherwise) round by
round, keeping the critic of each of the last ``--keep`` rounds. On 10,000 held-out latents (the
stream of :func:`latentrw.w_trainer.critic_agreement`) it prints the Spearman correlation of

- the final critic with the critic of k rounds earlier: how much of one critic's ranking of
  latents the next rounds keep, the most a w that does not chase the last critic can share with it;
- the saved w with each of those critics, and with the mean of the last K critics' scores (each
  standardised over the held-out latents);
- the *replayed* w: the bank trainer's round targets (:func:`latentrw.reweight.round_target`)
  taken on the held-out latents themselves, from w ≡ 1, with every round's reward
  (:meth:`latentrw.w_trainer.WTrainer.reward`) -- the function the rounds ask w to become, free
  of regression error. Its Spearman with the saved w says how well w learned it; its Spearman with
  the final critic, how much of the final critic's ranking the game itself asks for.

    python experiments/critic_drift.py src/latentrw/checkpoints/mnist-mlp-wgan-gp --keep 20
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from scipy.stats import spearmanr
from torch import nn

from latentrw.priors import Prior
from latentrw.reweight import ReweightConfig, round_target, scores
from latentrw.seeding import derive_seed
from latentrw.w_trainer import WTrainer


def critic_drift(G: nn.Module, D: nn.Module, prior: Prior, real: torch.Tensor, cfg: ReweightConfig, keep: int,
                 n: int = 10_000) -> dict:
    """Train w (bank trainer) and return the Spearman correlations above: ``final_vs[k]`` (final
    critic, critic k rounds earlier), ``w_vs[k]`` (saved w, that critic), ``mean_of[K]`` (saved w,
    final critic) against the mean of the last K critics, and ``replay`` (saved w vs the replayed w,
    the replayed w vs the final critic)."""
    critics = {}
    g = torch.Generator(prior.device).manual_seed(derive_seed(1, "held-out"))  # critic_agreement's stream
    with torch.no_grad():
        z = prior.sample(n, g)
        x = torch.cat([G(c) for c in z.split(1000)])
    replayed = torch.ones(n, device=z.device)

    def keep_critic(step: int, terms: dict) -> None:  # called after every round (log_every=1)
        nonlocal replayed
        if step > cfg.rounds - keep:
            critics[cfg.rounds - step] = copy.deepcopy(tr.critic).eval()
        d = tr.reward(x)[1]  # what the round stepped w up: the critic's scores, and D's with d_weight
        replayed = round_target(d, cfg, None if cfg.polishes(step - 1) else replayed)[0]

    tr = WTrainer(G, D, prior, real, cfg, log_every=1, on_step=keep_critic)
    w, _ = tr.fit()
    with torch.no_grad():
        wz = torch.cat([w(c) for c in z.split(1000)])
        u = {k: torch.cat([scores(c, b) for b in x.split(1000)]) for k, c in critics.items()}
    rho = lambda a, b: float(spearmanr(a.cpu().numpy(), b.cpu().numpy()).statistic)  # noqa: E731
    std = {k: (v - v.mean()) / v.std() for k, v in u.items()}
    mean_of = {}
    for K in (1, 5, 10, 20):
        if K <= len(std):
            mean_u = torch.stack([std[k] for k in range(K)]).mean(0)
            mean_of[K] = (rho(wz, mean_u), rho(u[0], mean_u))
    return {"final_vs": {k: rho(u[0], u[k]) for k in sorted(u)}, "w_vs": {k: rho(wz, u[k]) for k in sorted(u)},
            "mean_of": mean_of, "replay": (rho(wz, replayed), rho(replayed, u[0]))}


def main() -> None:
    from latentrw.data import load_dataset
    from latentrw.run import load_run
    from latentrw.specs import parse_key_values

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=int, default=20, help="the last rounds whose critic is kept")
    ap.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE", help="a ReweightConfig field")
    args = ap.parse_args()

    run = load_run(args.run)
    real = load_dataset(run.config.dataset).model_input("train", run.prior.device)
    cfg = ReweightConfig(seed=args.seed, **parse_key_values(args.opt))
    start = time.perf_counter()
    out = critic_drift(run.G, run.D, run.prior, real, cfg, args.keep)
    print(f"w trained and scored in {time.perf_counter() - start:.0f} s ({cfg.rounds} rounds)")
    print("k (rounds before the last) | Spearman(final critic, that critic) | Spearman(w, that critic)")
    for k in out["final_vs"]:
        print(f"{k:3d} | {out['final_vs'][k]:.3f} | {out['w_vs'][k]:.3f}")
    for K, (with_w, with_final) in out["mean_of"].items():
        print(f"mean of the last {K:2d} critics: Spearman with w {with_w:.3f}, with the final critic {with_final:.3f}")
    with_w, with_final = out["replay"]
    print(f"the replayed w: Spearman with w {with_w:.3f}, with the final critic {with_final:.3f}")


if __name__ == "__main__":
    main()
