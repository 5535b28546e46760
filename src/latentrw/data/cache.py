"""Where datasets are cached, and fetching files with checksum verification."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from latentrw.errors import DataError


def cache_root() -> Path:
    """``$LATENTRW_CACHE`` if set, else ``~/.cache/latentrw``."""
    env = os.environ.get("LATENTRW_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "latentrw"


def fetch_url(url: str, timeout: float = 30.0) -> bytes:
    """Download ``url``; network failures become a :class:`DataError`."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DataError(f"could not download {url}: {exc}") from exc
