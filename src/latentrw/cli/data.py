"""`latentrw data ...` and `latentrw classifier train`: datasets and the feature classifiers."""

from __future__ import annotations

from pathlib import Path

import click

from latentrw.cli.group import _user_errors, main
from latentrw.data import DATASETS


@main.group()
def data() -> None:
    """Fetch, verify and cache datasets."""


@data.command("prepare")
@click.argument("names", nargs=-1, required=True, type=click.Choice(DATASETS.names()))
@click.option("--source-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder holding the four IDX files (gzipped or not) to use instead of downloading.")
@_user_errors
def data_prepare(names: tuple[str, ...], source_dir: Path | None) -> None:
    """Fetch/cache datasets and print where they live and their checksums."""
    from latentrw.data import load_dataset

    for name in names:
        ds = load_dataset(name, source_dir)
        click.echo(f"{name}: {len(ds.x_train)} train / {len(ds.x_test)} test, {ds.x_train.dtype}, "
                   f"from {ds.info['source']}")
        if "cache" in ds.info:
            click.echo(f"  cached in {ds.info['cache']}")
        for fname, digest in ds.info["sha256"].items():
            click.echo(f"  sha256 {digest}  {fname}")


@data.command("add")
@click.argument("name")
@click.option("--npz", "npz", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Arrays x_train/x_test (and y_train/y_test), or a single x: uint8 images (N,H,W) or points (N,2).")
@click.option("--images", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="A folder of PNG/JPEG files, any size: grayscale, resized and centre-cropped to --size.")
@click.option("--size", type=click.IntRange(8, 256), default=28, help="Image side in pixels (--images).")
@click.option("--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.1,
              help="Held out as the test split when the source has no split.")
@_user_errors
def data_add(name: str, npz: Path | None, images: Path | None, size: int, test_fraction: float) -> None:
    """Add your own data as dataset NAME (an .npz or a folder of images), usable by every command."""
    from latentrw.data.user import add_dataset, load

    if (npz is None) == (images is None):
        raise click.UsageError("give exactly one of --npz FILE or --images DIR")
    folder = add_dataset(name, npz or images, size, test_fraction)
    ds = load(name)
    click.echo(f"{name}: {ds.kind}, {len(ds.x_train)} train / {len(ds.x_test)} test of shape "
               f"{tuple(ds.x_train.shape[1:])}, labels {'yes' if ds.y_train is not None else 'no'}; in {folder}")


@data.command("list")
def data_list() -> None:
    """List the registered datasets."""
    for name in DATASETS:
        click.echo(name)



@main.group()
def classifier() -> None:
    """The dataset classifiers whose features the image metrics use."""


@classifier.command("train")
@click.argument("dataset", type=click.Choice(["mnist", "fashion-mnist"]))
@click.option("--epochs", type=click.IntRange(min=1), default=10)
@click.option("--seed", type=int, default=0)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output file [DATASET-classifier.safetensors].")
@_user_errors
def classifier_train(dataset: str, epochs: int, seed: int, out: Path | None) -> None:
    """Train the feature classifier of DATASET and report its test accuracy."""
    from latentrw.features.classifier import train_classifier

    out = out or Path(f"{dataset}-classifier.safetensors")
    from latentrw.fileio import sha256_file

    info = train_classifier(dataset, out, epochs=epochs, seed=seed, hflip=dataset == "fashion-mnist")
    click.echo(f"{out}: test accuracy {info['test_accuracy']:.4f} after {epochs} epochs ({info['seconds']} s); "
               f"sha256 {sha256_file(out)} (use it with `latentrw evaluate --classifier {out}`)")
