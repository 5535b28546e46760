"""`latentrw convert` and `import-gan`: GANs trained outside latentrw."""

from __future__ import annotations

import json
from pathlib import Path

import click

from latentrw.cli.group import _user_errors, main
from latentrw.data import DATASETS
from latentrw.priors import PRIORS


@main.command()
@click.argument("src", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", default=None, help="Convert only this entry of the file (e.g. state_dict, generator).")
@_user_errors
def convert(src: Path, dst: Path, key: str | None) -> None:
    """Convert a trusted PyTorch .pt/.pth weights file to safetensors (torch.load with weights_only=True).

    The only place latentrw reads a pickle-based file, and only when you run it."""
    from latentrw.convert import convert as run_convert

    tensors = run_convert(src, dst, key)
    click.echo(f"{dst}: {len(tensors)} tensors, {sum(t.numel() for t in tensors.values()):,} numbers")


@main.command("import-gan")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--dataset", type=click.Choice(DATASETS.names()), required=True, help="What G makes (and the metrics' reference).")
@click.option("--z-dim", type=click.IntRange(min=1), required=True)
@click.option("--prior", type=click.Choice(PRIORS.names()), default="gaussian")
@click.option("--generator", required=True, metavar="MODULE:FACTORY", help="Import path of a function returning G.")
@click.option("--g-weights", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="G's state dict as safetensors (`latentrw convert` makes one from a .pt).")
@click.option("--g-kwargs", default="{}", help="JSON keyword arguments of the generator factory.")
@click.option("--discriminator", default=None, metavar="MODULE:FACTORY", help="Import path of a function returning D.")
@click.option("--d-weights", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None)
@click.option("--d-kwargs", default="{}", help="JSON keyword arguments of the discriminator factory.")
@click.option("--gp-weight", type=click.FloatRange(min=0), default=None, help="Gradient penalty D was trained with.")
@click.option("--mapping", default=None, metavar="MODULE:FACTORY",
              help="A frozen mapping network in front of G (StyleGAN's z -> W): w and latentRS then work on its output.")
@click.option("--mapping-weights", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None)
@click.option("--mapping-kwargs", default="{}", help="JSON keyword arguments of the mapping factory.")
@_user_errors
def import_gan(out: Path, dataset: str, z_dim: int, prior: str, generator: str, g_weights: Path, g_kwargs: str,
               discriminator: str | None, d_weights: Path | None, d_kwargs: str, gp_weight: float | None,
               mapping: str | None, mapping_weights: Path | None, mapping_kwargs: str) -> None:
    """Make a run directory around a GAN trained outside latentrw (every other command then works on it,
    given `latentrw --plugin MODULE:FACTORY ...`). --z-dim and --prior describe the latent fed to
    --mapping when there is one, else to G."""
    from latentrw.run import import_run

    try:
        kwargs = json.loads(g_kwargs), json.loads(d_kwargs), json.loads(mapping_kwargs)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"--g-kwargs/--d-kwargs/--mapping-kwargs must be JSON objects ({exc})") from exc
    run = import_run(out, dataset, z_dim, generator, g_weights, discriminator, d_weights, prior, kwargs[0], kwargs[1],
                     gp_weight, mapping, mapping_weights, kwargs[2])
    specs = " ".join(f"--plugin {s}" for s in (mapping, generator, discriminator) if s)
    click.echo(f"{run}: run directory of the outside GAN. Next, e.g.:\n  latentrw {specs} reweight {run}\n"
               f"  latentrw {specs} calibrate {run}\n  latentrw {specs} evaluate {run} --sampler latent-rs")
