"""Copy a trained run, its w and its calibrated D into the package's shipped checkpoints
(src/latentrw/checkpoints/NAME) and re-pin every file's sha256 in MANIFEST.json.

    python scripts/ship_checkpoint.py runs/table/mnist-mlp-ns mnist-mlp-ns \
        --w-dir runs/table/mnist-mlp-ns/reweight-s0 --calibrated-dir runs/table/mnist-mlp-ns/calibrated-s0

Only what sampling needs travels: config, G, D, prior and the training log; w.safetensors and
the reweighting config (and agreement.json, w's Spearman with its critic, and ga_steps.json, its
tuned latentGA steps: ``latentrw tune-ga``); the calibrated D and
calibration.json. Optimiser states do not. RUN may be a run's ``best/`` folder (model selection,
``latentrw train --select fid``): its selection.json travels too, with the run's log and training
curves from the folder above; so does a Table 1 generator's stopping.json
(:func:`latentrw.table1.train_until`).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from latentrw.ga_steps import GA_STEPS_FILE
from latentrw.run import CONFIG, D_FILE, G_FILE, LOG, PRIOR_FILE, load_run
from latentrw.selection import BEST_DIR, SELECTION_FILE
from latentrw.shipped import CHECKPOINTS_DIR, pin
from latentrw.table1 import STOPPING
from latentrw.w_trainer import AGREEMENT


def ship(run: Path, name: str, w_dir: Path, calibrated_dir: Path, root: Path = CHECKPOINTS_DIR) -> dict:
    """Copy the files into ROOT/NAME atomically: everything goes into a folder beside it first, which
    replaces the old checkpoint only once complete, so a failed copy leaves the old one untouched."""
    load_run(run)  # refuse a broken run before copying anything
    out, tmp, old = root / name, root / f".{name}.new", root / f".{name}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    above = run.parent if run.name == BEST_DIR else run  # a best/ folder's log and curves are its run's
    try:
        for src, dst, names in ((run, tmp, (CONFIG, G_FILE, D_FILE, PRIOR_FILE)), (above, tmp, (LOG,)),
                                (w_dir, tmp / "reweight", ("w.safetensors", "config.json")),
                                (calibrated_dir, tmp / "calibrated", ("D.safetensors", "calibration.json"))):
            dst.mkdir(parents=True, exist_ok=True)
            for file in names:
                shutil.copy2(src / file, dst / file)
        for src in (run / SELECTION_FILE, above / "curves.png", run / STOPPING):  # how the run was chosen
            if src.is_file():
                shutil.copy2(src, tmp / src.name)
        for file in (AGREEMENT, GA_STEPS_FILE):  # how well w learned its critic; its tuned latentGA steps
            if (w_dir / file).is_file():
                shutil.copy2(w_dir / file, tmp / "reweight" / file)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return pin(root)[name]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("name")
    ap.add_argument("--w-dir", type=Path, required=True)
    ap.add_argument("--calibrated-dir", type=Path, required=True)
    args = ap.parse_args()
    files = ship(args.run, args.name, args.w_dir, args.calibrated_dir)
    out = CHECKPOINTS_DIR / args.name
    print(f"shipped {out}: {len(files)} files, {sum(f['bytes'] for f in files.values()) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
