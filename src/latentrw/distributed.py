"""Several processes through ``torchrun``: the same commands, split across ranks.

``torchrun --nproc-per-node 2 -m latentrw.cli evaluate ...`` (or ``torchrun ... $(which latentrw)``)
sets ``RANK``/``WORLD_SIZE``; :func:`init` then joins the process group (NCCL on GPUs, gloo on
CPU). What is split:

- feature extraction: each rank runs the extractor on its contiguous slice of the samples and
  the slices are all-gathered in rank order, so every rank holds exactly the features a single
  process computes and the metrics that follow are identical;
- GAN training (:class:`latentrw.train.Trainer`) and
- w training (:class:`latentrw.w_trainer.WTrainer`): every rank draws the same batch from the
  same seed and works on its slice; batch statistics (w training: Σw of the critic's
  self-normalisation, Δ = min D, the reward's normaliser, E w) are all-reduced, each rank's loss
  is its share of the whole batch's, and the gradients are summed, so a step's gradient equals
  one process's (to float rounding).

Output (records, checkpoints, printing) is rank 0's alone. Without ``torchrun`` everything here
is a no-op.
"""

from __future__ import annotations

import atexit
import gc
import os

import torch
import torch.distributed as dist


def init() -> None:
    """Join the process group torchrun describes (once); nothing when not launched by torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and os.environ.get("LATENTRW_BACKEND") != "gloo" else "gloo"
        dist.init_process_group(backend)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        atexit.register(_finish)


def _finish() -> None:
    """Leave together: without it a rank that exits first can make gloo abort its peer. The
    collection first frees gloo work objects while the interpreter is whole: freed during its
    teardown instead, they occasionally aborted a rank after its work was done ("terminate
    called without an active exception", in 3 of 20 two-process runs on a loaded machine)."""
    if dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
        gc.collect()


def world() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def is_main() -> bool:
    return rank() == 0


def my_slice(n: int, r: int | None = None) -> slice:
    """Rank r's (default: this rank's) contiguous part of n items; the first n % world ranks take one more."""
    r = rank() if r is None else r
    size, extra = divmod(n, world())
    start = r * size + min(r, extra)
    return slice(start, start + size + (r < extra))


def gather_rows(t: torch.Tensor, n: int) -> torch.Tensor:
    """Concatenate every rank's rows (rank order) of a tensor split by :func:`my_slice` over n rows."""
    if world() == 1:
        return t
    sizes = [my_slice(n, r).stop - my_slice(n, r).start for r in range(world())]
    width = max(sizes)
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    padded = torch.zeros((width, *t.shape[1:]), dtype=t.dtype, device=device)
    padded[:len(t)] = t.to(device)
    parts = [torch.empty_like(padded) for _ in range(world())]
    dist.all_gather(parts, padded)
    return torch.cat([p[:s] for p, s in zip(parts, sizes)]).to(t.device)



def all_sum(t: torch.Tensor) -> torch.Tensor:
    """The sum over ranks of ``t`` (a new tensor; ``t`` itself when alone)."""
    if world() == 1:
        return t
    out = t.detach().clone()
    dist.all_reduce(out)
    return out


def all_min(t: torch.Tensor) -> torch.Tensor:
    if world() == 1:
        return t
    out = t.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.MIN)
    return out


def sum_gradients(params) -> None:
    """Add up the gradients of ``params`` over ranks (each rank's loss being its share of the
    batch's), so every rank takes the same step as one process on the whole batch."""
    if world() == 1:
        return
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
