"""Reader and writer for the IDX format of LeCun's MNIST files.

Only the two layouts MNIST-like datasets use are accepted: unsigned bytes
(type code 0x08) with 1 dimension (labels) or 3 dimensions (images). Anything
else, a truncated file or trailing bytes, is a :class:`DataError` naming the
file, never a crash or an enormous allocation.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from latentrw.errors import DataError

_UBYTE = 0x08
_MAX_ITEMS = 10_000_000  # far above any MNIST-like set; guards against absurd headers


def decompress_if_gzip(raw: bytes, name: str) -> bytes:
    """Return the IDX bytes of ``raw``, gunzipping it when it starts with the gzip magic."""
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{name}: corrupt gzip stream ({exc}); delete it and fetch it again") from exc


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes (already decompressed) into a uint8 array."""
    if len(raw) < 4:
        raise DataError(f"{name}: {len(raw)} bytes is too short for an IDX header")
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0:
        raise DataError(f"{name}: not an IDX file (bad magic number)")
    if dtype != _UBYTE:
        raise DataError(f"{name}: IDX data type 0x{dtype:02x} is not supported (only unsigned bytes, 0x08)")
    if ndim not in (1, 3):
        raise DataError(f"{name}: IDX files with {ndim} dimensions are not supported (labels 1, images 3)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: truncated IDX header")
    shape = struct.unpack(">" + "I" * ndim, raw[4:header])
    if shape[0] > _MAX_ITEMS or any(s == 0 for s in shape[1:]) or any(s > 4096 for s in shape[1:]):
        raise DataError(f"{name}: implausible IDX shape {shape}")
    expected = int(np.prod(shape, dtype=np.int64))
    body = len(raw) - header
    if body != expected:
        what = "truncated" if body < expected else "has trailing bytes"
        raise DataError(
            f"{name}: IDX file {what} ({body} data bytes, header promises {expected}); "
            "delete it and fetch it again"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def encode_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array of 1 or 3 dimensions as IDX bytes."""
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError("encode_idx takes a uint8 array with 1 or 3 dimensions")
    head = struct.pack(">HBB", 0, _UBYTE, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    return head + np.ascontiguousarray(array).tobytes()


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file from disk, gzipped or not."""
    path = Path(path)
    return parse_idx(decompress_if_gzip(path.read_bytes(), str(path)), str(path))
