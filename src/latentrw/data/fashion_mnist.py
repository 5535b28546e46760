"""Fashion-MNIST (Xiao et al. 2017): 60k/10k, exact uint8 pixels.

Offline route: Debian's package ``dataset-fashion-mnist`` installs the four IDX
files under ``/usr/share/datasets/fashion-mnist/`` (``apt-get install
dataset-fashion-mnist``). Debian recompresses them, so the gzip files differ
from upstream's, but their decompressed bytes match the pinned sha256 below.
"""

from __future__ import annotations

from pathlib import Path

from latentrw.data.idx_images import IdxImageSpec, read_directory
from latentrw.errors import DataError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


def _from_debian() -> dict[str, bytes]:
    if not DEBIAN_DIR.is_dir():
        raise DataError(
            f"{DEBIAN_DIR} does not exist; on Debian/Ubuntu run `apt-get install dataset-fashion-mnist`"
        )
    return read_directory(SPEC, DEBIAN_DIR)


SPEC = IdxImageSpec(
    name="fashion-mnist",
    # sha256 of the decompressed IDX files of the upstream release.
    sha256={
        "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    local_sources=((f"Debian package dataset-fashion-mnist ({DEBIAN_DIR})", _from_debian),),
)
