"""Evaluate samples wherever they are: drawn from a run directory, a folder of PNGs, an ``.npz``,
or the shards of ``latentrw sample --shard-size`` (streamed) — the API behind ``latentrw evaluate``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from latentrw import distributed
from latentrw.errors import ConfigError
from latentrw.metrics.evaluate import ALL_METRICS, DEFAULT_METRICS, evaluate_samples, floor, record, reference
from latentrw.run import CONFIG, Run, load_run


def evaluate_source(source: Path | str, dataset: str | None = None, metrics: tuple[str, ...] = DEFAULT_METRICS,
                    seed: int = 0, *, n: int = 10_000, make_sampler: Callable[[Run], object] | None = None,
                    device: str = "cpu", classifier: Path | str | None = None, with_floor: bool = True,
                    subsample: int = 10_000, progress: bool = True) -> dict | None:
    """The evaluation record of ``source`` (what ``latentrw evaluate`` appends to its results).

    A run directory: draw ``n`` samples with ``make_sampler(run)`` (None: plain G), the record
    then holds the sampler's options and its cost per sample. PNG folders and ``.npz`` files are
    ``dataset``'s samples (mnist when not given); shards are streamed, with the k-NN and OT metrics
    on ``subsample`` of them. ``with_floor`` adds the real-vs-real floor at the same N. Under
    torchrun every rank computes and rank 0 alone gets the record (the others: None)."""
    source = Path(source)
    if set(metrics) - set(ALL_METRICS):
        raise ConfigError(f"unknown metrics {sorted(set(metrics) - set(ALL_METRICS))}; choose from {','.join(ALL_METRICS)}")
    if (source / CONFIG).is_file():
        return _evaluate_run(source, dataset, metrics, seed, n, make_sampler, device, classifier, with_floor, progress)
    if make_sampler is not None:
        raise ConfigError("a sampler applies to a run directory, not to stored samples")
    if (source / "index.json").is_file():
        return _evaluate_shards(source, dataset, metrics, seed, subsample, classifier)
    from latentrw.samples_io import load_npz, load_png_folder

    x, kind = (load_png_folder(source), "png-folder") if source.is_dir() else (load_npz(source), "npz")
    return _evaluate_tensor(x, source, dataset or "mnist", metrics, seed, None, kind, classifier, with_floor, progress)


def _reference(dataset: str, classifier: Path | str | None):
    from latentrw.features import classifier_extractor

    return reference(dataset, extractor=classifier_extractor(dataset, classifier) if classifier else None, progress=True)


def _evaluate_run(source: Path, dataset, metrics, seed, n, make_sampler, device, classifier, with_floor, progress):
    from latentrw.data import as_exported
    from latentrw.device import resolve_device
    from latentrw.sample import draw
    from latentrw.sample import make_sampler as plain

    run = load_run(source, resolve_device(device))
    method = make_sampler(run) if make_sampler else plain("base", run, source)
    batch = draw(method, run, n, seed)
    extra = {"step": run.step, "config": run.config.to_dict(), "sampler_options": method.params(),
             "cost": batch.cost.per_sample(n) | {"seconds": batch.cost.seconds}}
    return _evaluate_tensor(as_exported(batch.x), source, dataset or run.config.dataset, metrics, seed, method.name,
                            "run", classifier, with_floor, progress, **extra)


def _evaluate_tensor(x, source: Path, dataset: str, metrics, seed, sampler, kind, classifier, with_floor, progress,
                     **extra) -> dict | None:
    ref = _reference(dataset, classifier)
    values = evaluate_samples(x, dataset, metrics, seed, ref=ref, progress=progress, source=str(source))
    base = floor(dataset, n=min(len(x), 10_000), ref=ref, progress=progress) if with_floor else None
    if not distributed.is_main():  # every rank computed the same numbers; rank 0 reports them
        return None
    return record(dataset, str(source.resolve()), sampler, seed, len(x), values, ref, source_kind=kind, floor=base,
                  **extra)


def _evaluate_shards(source: Path, dataset, metrics, seed, subsample, classifier) -> dict | None:
    from latentrw.shards import evaluate_shards, read_index

    dataset = dataset or read_index(source)["dataset"]
    ref = _reference(dataset, classifier)
    values = evaluate_shards(source, dataset, metrics, seed, subsample, ref)
    if not distributed.is_main():
        return None
    return record(dataset, str(source.resolve()), None, seed, values["n"], values, ref, source_kind="shards")
