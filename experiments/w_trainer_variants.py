"""Variants of the bank w trainer, as they were compared before one became latentrw's default.

Each round: ``--k`` WGAN-GP critic steps against the w-reweighted bank fakes, the critic's scores
on the bank, then ``--j`` regression steps of w (in softplus⁻¹ space) onto a target:

- ``--mode target`` (default) with ``--eta 0``: Eq. 6's pointwise optimum for this critic (the
  best response); ``--avg fp`` averages the best responses of all rounds (fictitious play),
  ``--avg B`` takes their moving average with weight B;
- ``--eta E``: one functional gradient step of size E on Eq. 6 from w's current values, the mean
  held at E w = 1 (what latentrw's ``bank`` trainer does, there with the mean penalty taken implicitly);
- ``--refresh``: a new bank every round; ``--k 0``: the run's D, fixed.

Then it prints the Spearman correlation of w with the final critic on 10,000 held-out latents and
evaluates latentRS / latentRS+GA (N = --n, seed 0; FID, precision, recall, in-between, KL to
uniform), appending one line to runs/proto_results.jsonl.

    python experiments/w_trainer_variants.py mnist-mlp-wgan-gp --out runs/p/wg-fga --eta 0.15 --refresh \
        --eval latent-rs,latent-rs-ga
"""
import argparse
import copy
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from latentrw.checkpoint import save_module
from latentrw.data import load_dataset
from latentrw.metrics.evaluate import evaluate_samples
from latentrw.objectives import gradient_penalty
from latentrw.reweight import WNetwork, critic_gp_weight, critic_loss
from latentrw.run import load_run
from latentrw.sample import draw, make_sampler
from latentrw.shipped import shipped


def optimum(c, m, l1, l2, iters=60):
    u = c - c.min()
    u = u / u.mean().clamp_min(1e-12)
    lo, hi = 0.0, float(u.max())
    for _ in range(iters):
        t = (lo + hi) / 2
        w = (u > t) * (m + (u - t) / (2 * l2))
        if 2 * l1 * (w.mean() - 1) - t > 0:
            lo = t
        else:
            hi = t
    t = hi
    return (u > t) * (m + (u - t) / (2 * l2)), t


def chunks(f, x, n=2000):
    with torch.no_grad():
        return torch.cat([f(b) for b in x.split(n)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--out", required=True)
    ap.add_argument("--bank", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--k", type=int, default=50, help="critic steps per round")
    ap.add_argument("--j", type=int, default=200, help="w steps per round")
    ap.add_argument("--bs", type=int, default=256)
    ap.add_argument("--bw", type=int, default=512)
    ap.add_argument("--lr-d", type=float, default=1e-4)
    ap.add_argument("--lr-w", type=float, default=1e-3)
    ap.add_argument("--gp", type=float, default=None)
    ap.add_argument("--mode", default="target")
    ap.add_argument("--floor", type=float, default=0.05)
    ap.add_argument("--avg", default="none")
    ap.add_argument("--eta", type=float, default=0.0)
    ap.add_argument("--refresh", action="store_true")
    ap.add_argument("--eval", default="base,latent-rs,latent-rs-ga")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    rdir = shipped(a.run) if not Path(a.run).is_dir() else Path(a.run)
    run = load_run(rdir)
    gp_w = critic_gp_weight(run.config) if a.gp is None else a.gp
    real = load_dataset(run.config.dataset).model_input("train", "cpu")
    rng = torch.Generator().manual_seed(a.seed)
    t0 = time.time()
    z_bank = run.prior.sample(a.bank, rng)
    run.G.eval()
    x_bank = chunks(run.G, z_bank)
    t_bank = time.time() - t0
    w = WNetwork(run.prior.z_dim)
    critic = copy.deepcopy(run.D).train()
    opt_d = torch.optim.Adam(critic.parameters(), lr=a.lr_d, betas=(0.5, 0.9))
    opt_w = torch.optim.Adam(w.parameters(), lr=a.lr_w, betas=(0.5, 0.9))
    m, l1, l2 = 3.0, 10.0, 3.0
    log = []
    loss = torch.zeros(())
    acc = None  # the running average of the targets (--avg)
    for r in range(a.rounds):
        if a.refresh and r > 0:
            z_bank = run.prior.sample(a.bank, rng)
            x_bank = chunks(run.G, z_bank)
        for _ in range(a.k):
            xr = real[torch.randint(len(real), (a.bs,), generator=rng)]
            i = torch.randint(a.bank, (a.bs,), generator=rng)
            with torch.no_grad():
                wz = w(z_bank[i])
            loss = critic_loss(critic(xr).flatten(), critic(x_bank[i]).flatten(), wz)
            if gp_w > 0:
                loss = loss + gp_w * gradient_penalty(critic, xr, x_bank[i], rng)[0]
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        critic.eval()
        c = chunks(lambda b: critic(b).flatten(), x_bank)
        critic.train()
        target, t = optimum(c, m, l1, l2)
        if a.eta > 0:  # functional gradient ascent on Eq. 6 from the current w
            with torch.no_grad():
                wcur = chunks(w, z_bank)
            u = (c - c.min()) / (c - c.min()).mean()
            step = wcur + a.eta * (u - 2 * l2 * F.relu(wcur - m))
            lo_, hi_ = -10.0, 10.0  # shift so that E target = 1 (the mean penalty, solved exactly)
            for _ in range(50):
                sh = (lo_ + hi_) / 2
                if (step - sh).clamp(min=a.floor).mean() > 1:
                    lo_ = sh
                else:
                    hi_ = sh
            target = (step - hi_).clamp(min=a.floor)
        if a.avg == "fp":
            acc = target if r == 0 else acc + (target - acc) / (r + 1)
            target = acc
        elif a.avg != "none":
            beta = float(a.avg)
            acc = target if r == 0 else (1 - beta) * acc + beta * target
            target = acc
        u = (c - c.min()) / (c - c.min()).mean()
        for _ in range(a.j):
            i = torch.randint(a.bank, (a.bw,), generator=rng)
            wi = w(z_bank[i])
            if a.mode == "target":
                h = w.net(z_bank[i]).squeeze(1)
                hstar = torch.log(torch.expm1(target[i].clamp(min=a.floor)))
                lw = (h - hstar).pow(2).mean()
            else:
                lw = -(wi * u[i]).mean() + l1 * (wi.mean() - 1) ** 2 + l2 * F.relu(wi - m).pow(2).mean()
            opt_w.zero_grad()
            lw.backward()
            opt_w.step()
        wb = chunks(w, z_bank)
        rho = spearmanr(wb.numpy(), c.numpy()).statistic
        log.append(dict(round=r, t=t, Ew=float(wb.mean()), rho_bank=rho, closs=float(loss.detach()), s=time.time() - t0))
        print(json.dumps(log[-1]), flush=True)
    secs = time.time() - t0
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    save_module(out / "w.safetensors", w, {"step": a.rounds, "config": w.config, "m": m})
    save_module(out / "critic.safetensors", critic, {"step": a.rounds})
    # held-out Spearman vs the final critic
    zt = run.prior.sample(10000, torch.Generator().manual_seed(12345))
    critic.eval()
    ct = chunks(lambda b: critic(run.G(b)).flatten(), zt)
    wt = chunks(w, zt)
    rho = spearmanr(wt.numpy(), ct.numpy()).statistic
    print(f"TRAIN {secs:.1f}s (bank {t_bank:.1f}s); held-out Spearman {rho:.3f}; Ew {float(wt.mean()):.3f}", flush=True)
    res = {"args": vars(a), "secs": secs, "spearman": rho}
    for name in a.eval.split(","):
        s = make_sampler(name, run, rdir, w_dir=out)
        batch = draw(s, run, a.n, a.seed)
        met = evaluate_samples(batch.x, run.config.dataset, metrics=("fid", "prdc", "classes"))
        res[name] = {k: met[k] for k in ("fid", "precision", "recall", "in_between", "kl_uniform")}
        print(name, json.dumps(res[name]), flush=True)
    with open("runs/proto_results.jsonl", "a") as f:
        f.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
