"""latentGA's number of ascent steps, chosen for one trained w on held-out *training* images.

The paper leaves latentGA's step size and count to be tuned. Each step moves the accepted latents
further uphill on w: precision rises and the in-between rate falls, until the samples crowd into
the classes w likes best and FID rises (on mnist-cnn-ns 3 steps lowered FID where 10 raised it;
docs/results.md). :func:`tune_ga_steps` draws latentRS+GA with each candidate count, and base for
reference, from the same latents, scores them against the last ``holdout`` training images, and
keeps the count of lowest FID: FID weighs quality and diversity together, so it stops the ascent
where its precision starts costing more diversity than it gains. On 2-D data EMD takes FID's place.
The test split is never read.

The choice is written to ``W_DIR/ga_steps.json`` with every candidate's scores and w's sha256;
:func:`latentrw.reweight.load_w` reads it, and latentGA and latentRS+GA then default to it at the
step size and mode it was tuned with (the defaults).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from latentrw.errors import ConfigError
from latentrw.fileio import atomic_write_json, sha256_file

GA_STEPS_FILE = "ga_steps.json"
DEFAULT_GA_STEPS = 10  # latentGA's steps for a w that has not been tuned
CANDIDATES = (1, 3, 5, 10)
TUNE_SEED = 7_000_001  # the latents tuning draws: none of a bench's sampling seeds


def tune_ga_steps(run, w_dir: Path | str, candidates: Sequence[int] = CANDIDATES, n: int = 5000,
                  holdout: int | None = None, seed: int = TUNE_SEED,
                  progress: Callable[[str], None] = lambda line: None) -> dict:
    """Choose latentRS+GA's step count for the w in ``w_dir`` (see the module docstring), write
    ``w_dir/ga_steps.json`` and return what it holds: ``steps`` (the choice), ``by`` (fid or emd),
    ``base`` and ``candidates`` (each count's score, precision, recall and in-between rate), ``n``,
    ``holdout``, ``seed``. ``holdout`` [the run's own, else 10,000]: how many of the last training
    images to score against. They are unseen by G when the run held them out; w's critic, trained on
    the whole training split, has seen them."""
    import warnings

    from latentrw.data import as_exported, load_dataset
    from latentrw.metrics.evaluate import Reference, evaluate_samples
    from latentrw.reweight import W_FILE, load_w
    from latentrw.sample import draw
    from latentrw.samplers.base import BaseSampler
    from latentrw.samplers.latent import LatentRSGA

    w_dir = Path(w_dir)
    candidates = sorted(set(int(s) for s in candidates))
    if not candidates or candidates[0] < 0:
        raise ConfigError(f"GA step candidates must be integers >= 0, not {candidates}")
    if n < 100:
        raise ConfigError(f"tuning GA steps needs at least 100 samples per candidate, not {n}")
    w = load_w(w_dir, run.prior.device, tuned=False)  # a wrong --w-dir fails before any work
    if holdout is None:
        holdout = getattr(run.config, "holdout", 0)
        if not holdout:
            holdout = 10_000
            warnings.warn(f"the run held out no training images; GA steps are tuned against the last {holdout}, "
                          "which G trained on (train with --holdout to keep them unseen)", stacklevel=2)
    data = load_dataset(run.config.dataset)
    by, metrics = ("fid", ("fid", "prdc", "classes")) if data.kind == "image" else ("emd", ("emd", "prdc"))
    ref = Reference(data.name, "holdout", x=data.hold_out(holdout)[1].model_input("train"))

    def scored(sampler, label: str) -> dict:
        x = as_exported(draw(sampler.fit(run), run, n, seed).x)  # scored as the bench scores: 8-bit images
        values = evaluate_samples(x, data.name, metrics, ref=ref, source=label)
        row = {k: round(values[k], 6) for k in (by, "precision", "recall", "in_between") if k in values}
        progress(f"{label}: " + " ".join(f"{k}={v:.4g}" for k, v in row.items()))
        return row

    base = scored(BaseSampler(), "base")
    rows = [{"steps": s, **scored(LatentRSGA(w, steps=s), f"latent-rs-ga steps={s}")} for s in candidates]
    result = {"steps": choose_steps(rows, by), "by": by, "base": base, "candidates": rows,
              "n": n, "holdout": holdout, "seed": seed,
              "rule": f"the steps of lowest {by} against the held-out training samples (a tie: the fewer)",
              "w_sha256": sha256_file(w_dir / W_FILE)}
    atomic_write_json(w_dir / GA_STEPS_FILE, result)
    return result


def choose_steps(rows: Sequence[dict], by: str = "fid") -> int:
    """The rule: of ``rows`` ({"steps", by}, lower ``by`` better), the steps of the lowest score;
    of equal scores, the fewer steps (the cheaper). A NaN score never wins."""
    return min(rows, key=lambda r: (math.isnan(r[by]), r[by], r["steps"]))["steps"]


def tuned_steps(w_dir: Path | str) -> int | None:
    """The step count tuned for the w in ``w_dir``, or None where it was not tuned. A tuning of
    another w (the file's sha256 not w's: w was trained again since) or an unreadable file is
    ignored with a warning that says to tune again."""
    import warnings

    from latentrw.reweight import W_FILE

    path = Path(w_dir) / GA_STEPS_FILE
    if not path.is_file():
        return None
    try:
        found = json.loads(path.read_text())
        steps, sha = int(found["steps"]), found["w_sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        warnings.warn(f"{path} is not a GA-steps tuning ({exc}); ignored: latentGA runs {DEFAULT_GA_STEPS} steps. "
                      "Run `latentrw tune-ga` again", stacklevel=2)
        return None
    if sha != sha256_file(Path(w_dir) / W_FILE):
        warnings.warn(f"{path} was tuned for another w than {Path(w_dir) / W_FILE}; ignored: latentGA runs "
                      f"{DEFAULT_GA_STEPS} steps. Run `latentrw tune-ga` again", stacklevel=2)
        return None
    return steps
