"""Seeds derived from a user's seed, so that independent random streams never share numbers."""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, *keys: object) -> int:
    """A 63-bit seed for the stream named by ``keys`` under ``seed`` (a hash: distinct keys give
    unrelated streams, and the same keys the same stream on every machine)."""
    text = "/".join(str(k) for k in (seed, *keys)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1


def indexed_seed(seed: int, index: int) -> int:
    """The seed of the ``index``-th block (epoch, step, proposal block) of a stream under ``seed``:
    ``seed · 1,000,003 + index``, distinct for any index below a million. The proposal streams,
    epoch orders and training RNG are seeded this way; :func:`derive_seed` serves new streams
    (changing these would change every sample and every table)."""
    return seed * 1_000_003 + index
