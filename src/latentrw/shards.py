"""Large N: samples streamed to disk in ``.npy`` shards and evaluated shard by shard, so a
million images need a few GB of disk and memory for one shard at a time.

``write_shards`` draws N samples in chunks of ``shard_size``, shard i from the proposal stream of
:func:`shard_seed` (seed, i) (so the shards depend on the seed and the shard size only), and writes
``DIR/x_00000.npy, ...`` (uint8 images (n, 28, 28) or float32 points (n, 2)) and
``DIR/index.json`` (every shard's count and sha256, the run, sampler and seed).

``evaluate_shards`` streams them through the feature extractor and accumulates what needs every
sample: FID's mean and covariance (float64 sums, :class:`Moments`), the class histogram and the
in-between count. Precision/recall, density/coverage, KID and EMD are k-NN or subset statistics
whose cost grows with N: they are computed on a uniform subsample of ``subsample`` samples
(indices drawn with the seed before streaming; recorded), as the literature computes them on
10k–50k samples anyway.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from latentrw.data import to_uint8_images
from latentrw.errors import DataError
from latentrw.fileio import atomic_write_json, sha256_file
from latentrw.metrics.classes import kl_to_uniform, modes_covered, top_probability
from latentrw.metrics.evaluate import Reference, compute_metrics, reference
from latentrw.metrics.fid import frechet_distance, gaussian_stats
from latentrw.samplers.base import PILOT_SEED, ProposalStream, Sampler

INDEX = "index.json"


def shard_seed(seed: int, shard: int) -> int:
    """The proposal seed of shard ``shard``: ``seed`` itself for the first (so one shard is the
    same draw as ``latentrw sample --seed``), then seeds derived from (seed, shard)."""
    if shard == 0:
        return seed
    derived = int(np.random.SeedSequence([seed, shard]).generate_state(1)[0])
    return derived if derived != PILOT_SEED else derived - 1


def write_shards(sampler: Sampler, run, n: int, out: Path | str, seed: int = 0, shard_size: int = 100_000,
                 progress=None) -> dict:
    """Draw ``n`` samples with a fitted ``sampler`` into shards under ``out``; returns the index."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shards, proposals = [], 0
    for i, start in enumerate(range(0, n, shard_size)):
        # A stream serves one draw (samplers index its blocks from 0), so each shard gets its own.
        stream = ProposalStream.from_seed(run.prior, shard_seed(seed, i))
        batch = sampler.sample_from(min(shard_size, n - start), stream)
        x = to_uint8_images(batch.x).numpy() if batch.x.dim() == 4 else batch.x.numpy().astype(np.float32)
        name = f"x_{i:05d}.npy"
        with open(out / name, "wb") as f:
            np.save(f, x, allow_pickle=False)
        shards.append({"file": name, "n": len(x), "sha256": sha256_file(out / name)})
        proposals += batch.cost.proposals
        if progress:
            progress(f"shard {i}: {start + len(x)}/{n}")
    index = {"n": n, "shard_size": shard_size, "seed": seed, "sampler": sampler.name, "options": sampler.params(),
             "dataset": run.config.dataset, "run": str(run.path), "proposals": proposals, "shards": shards}
    atomic_write_json(out / INDEX, index)
    return index


def read_index(directory: Path | str) -> dict:
    path = Path(directory) / INDEX
    try:
        index = json.loads(path.read_text())
        shards = index["shards"]
        if not (isinstance(shards, list) and all(isinstance(s["file"], str) and "/" not in s["file"] for s in shards)):
            raise ValueError("malformed shard list")  # not an assert, which python -O removes
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a shard index written by `latentrw sample --shard-size` ({exc})") from exc
    return index


def iter_shards(directory: Path | str):
    """Each shard as model-scale float tensors, after checking its sha256."""
    directory = Path(directory)
    for shard in read_index(directory)["shards"]:
        path = directory / shard["file"]
        if not path.is_file() or sha256_file(path) != shard.get("sha256"):
            raise DataError(f"{path} is missing or does not match the sha256 in {INDEX}")
        try:
            x = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(f"{path}: not a readable .npy of plain numbers ({exc})") from exc
        if x.dtype == np.uint8 and x.ndim == 3:
            yield torch.from_numpy(x.astype(np.float32)).unsqueeze(1) / 127.5 - 1.0
        elif x.dtype == np.float32 and x.ndim == 2:
            yield torch.from_numpy(x)
        else:
            raise DataError(f"{path}: {x.dtype} {x.shape} is neither uint8 images nor float32 points")


class Moments:
    """Running float64 sums of features and their outer products: FID's mean and covariance
    (ddof 1) without holding the features."""

    def __init__(self, dim: int):
        self.n, self.s, self.ss = 0, np.zeros(dim), np.zeros((dim, dim))

    def update(self, f: np.ndarray) -> None:
        f = np.asarray(f, dtype=np.float64)
        self.n += len(f)
        self.s += f.sum(0)
        self.ss += f.T @ f

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        mu = self.s / self.n
        return mu, (self.ss - self.n * np.outer(mu, mu)) / (self.n - 1)


def evaluate_shards(directory: Path | str, dataset: str | None = None, metrics: tuple[str, ...] = ("fid", "prdc", "classes"),
                    seed: int = 0, subsample: int = 10_000, ref: Reference | None = None,
                    progress: bool = True) -> dict:
    """Metrics of the sharded samples in ``directory`` against ``dataset``'s test split (with a
    progress bar over the shards unless ``progress`` is False)."""
    index = read_index(directory)
    ref = ref or reference(dataset or index["dataset"])
    n = sum(s["n"] for s in index["shards"])
    keep = np.sort(np.random.default_rng(seed).permutation(n)[:min(subsample, n)])
    moments, counts, in_between, picked, offset = None, None, 0, [], 0
    for x in tqdm(iter_shards(directory), total=len(index["shards"]), desc="shards", unit="shard",
                  disable=not progress, dynamic_ncols=True):
        ref.check(x, str(directory))
        feats, logits = ref.extractor(x)
        f = feats.numpy()
        moments = moments or Moments(f.shape[1])
        moments.update(f)
        if logits is not None and ref.threshold is not None:
            c = torch.bincount(logits.argmax(1), minlength=logits.shape[1])
            counts = c if counts is None else counts + c
            in_between += int((top_probability(logits) < ref.threshold).sum())
        mine = keep[(keep >= offset) & (keep < offset + len(f))] - offset
        picked.append((feats[mine], logits[mine] if logits is not None else None))
        offset += len(f)
    if offset != n:
        raise DataError(f"{directory}: the shards hold {offset} samples, the index says {n}")
    sub_f = torch.cat([p[0] for p in picked])
    sub_l = torch.cat([p[1] for p in picked]) if picked[0][1] is not None else None
    subset_metrics = tuple(m for m in metrics if m in ("kid", "prdc", "emd", "emd_sq"))
    out = compute_metrics(sub_f, sub_l, ref, subset_metrics, seed)
    if "fid" in metrics:
        out["fid"] = frechet_distance(*moments.stats(), *gaussian_stats(ref.features))
    if "classes" in metrics and counts is not None:
        hist = counts.double() / n
        out |= {"class_histogram": [round(float(v), 6) for v in hist], "kl_uniform": kl_to_uniform(hist),
                "modes_covered": modes_covered(hist), "in_between": in_between / n,
                "in_between_threshold": ref.threshold}
    out |= {"n": n, "subsample": len(keep), "subsample_seed": seed}
    return out

