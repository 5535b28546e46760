"""The command line, ``latentrw COMMAND``: a thin layer over the API, one module per concern.

``group`` holds the ``latentrw`` group and the error handling; importing the other modules
registers their commands on it.
"""

from latentrw.cli import benchmark, data, outside, sampling, training  # noqa: F401  (registers the commands)
from latentrw.cli.group import main

__all__ = ["main"]
