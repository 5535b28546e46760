"""``python -m latentrw.cli``."""

from latentrw.cli import main

main()
