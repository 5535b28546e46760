"""The ``latentrw`` group, its global options and how errors reach the user."""

from __future__ import annotations

import functools

import click

from latentrw.errors import CheckpointError, LatentrwError


class _RunOrShipped(click.ParamType):
    """A run directory, or the name of a shipped checkpoint (:func:`latentrw.shipped.resolve`)."""

    name = "RUN"

    def convert(self, value, param, ctx):
        from latentrw.shipped import resolve

        try:
            return resolve(value)[1]
        except CheckpointError as exc:
            self.fail(str(exc), param, ctx)


RUN_OR_SHIPPED = _RunOrShipped()


def _user_errors(fn):
    """Show our own errors as one clear line instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LatentrwError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt as exc:  # training saved its step first and says how to resume
            click.echo(f"\n{exc}" if exc.args else "\ninterrupted", err=True)
            raise SystemExit(130) from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="latentrw")
@click.option("--plugin", "plugins", multiple=True, metavar="MODULE:FACTORY",
              help="Trust this outside model factory, so runs made by `latentrw import-gan` load (repeatable; "
                   "or LATENTRW_PLUGINS=spec1,spec2).")
@_user_errors
def main(plugins: tuple[str, ...]) -> None:
    """latentrw: train GANs on MNIST, Fashion-MNIST and 2-D data, and improve their samples."""
    from latentrw import distributed
    from latentrw.memory import keep_freed_memory
    from latentrw.models.plugin import trust

    keep_freed_memory()  # a CPU step's freed activations are reused, not faulted in again (latentrw.memory)

    for spec in plugins:
        trust(spec)
    distributed.init()  # under torchrun: join the process group (latentrw.distributed)
