"""Seeds derived from a user's seed, so that independent random streams never share numbers."""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, *keys: object) -> int:
    """A 63-bit seed for the stream named by ``keys`` under ``seed`` (a hash: distinct keys give
    unrelated streams, and the same keys the same stream on every machine)."""
    text = "/".join(str(k) for k in (seed, *keys)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1
