import json
import runpy
from pathlib import Path

import pytest
from helpers import tiny_trainer

from latentrw.shipped import shipped

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ship_checkpoint.py"


def stand_ins(tmp_path):
    """A w folder and a calibration folder whose files hold their own names ("w/w.safetensors v1"),
    and an empty checkpoints root."""
    w_dir, cal_dir, root = tmp_path / "w", tmp_path / "cal", tmp_path / "checkpoints"
    for d, files in ((w_dir, ("w.safetensors", "config.json")), (cal_dir, ("D.safetensors", "calibration.json"))):
        d.mkdir()
        for f in files:
            (d / f).write_text(f"{d.name}/{f} v1")
    root.mkdir()
    return w_dir, cal_dir, root


def test_a_failed_ship_leaves_the_old_checkpoint_whole(tmp_path):
    """scripts/ship_checkpoint.py copies into a folder beside the checkpoint and swaps it in only when
    complete: a copy that fails halfway (here: no w.safetensors) leaves the shipped one as it was."""
    ship = runpy.run_path(str(SCRIPT))["ship"]
    tiny_trainer(tmp_path / "run", n=40).fit()
    w_dir, cal_dir, root = stand_ins(tmp_path)
    ship(tmp_path / "run", "toy", w_dir, cal_dir, root)
    before = json.loads((root / "MANIFEST.json").read_text())
    (w_dir / "w.safetensors").unlink()
    with pytest.raises(FileNotFoundError):
        ship(tmp_path / "run", "toy", w_dir, cal_dir, root)
    assert json.loads((root / "MANIFEST.json").read_text()) == before
    assert (shipped("toy", root) / "reweight" / "w.safetensors").read_text() == "w/w.safetensors v1"
    assert sorted(p.name for p in root.iterdir()) == ["MANIFEST.json", "toy"]  # no half-made folder left


def test_a_selected_model_ships_with_its_selection_and_its_runs_log(tmp_path):
    ship = runpy.run_path(str(SCRIPT))["ship"]
    tiny_trainer(tmp_path / "run", n=96, epochs=2, holdout=32, select="fid", eval_every=1, eval_n=50).fit()
    w_dir, cal_dir, root = stand_ins(tmp_path)
    ship(tmp_path / "run" / "best", "toy", w_dir, cal_dir, root)
    out = shipped("toy", root)
    for name in ("selection.json", "log.jsonl", "curves.png", "G.safetensors"):
        assert (out / name).is_file(), name
    assert (out / "G.safetensors").read_bytes() == (tmp_path / "run" / "best" / "G.safetensors").read_bytes()
    assert (out / "log.jsonl").read_bytes() == (tmp_path / "run" / "log.jsonl").read_bytes()


def test_a_table1_generator_ships_with_its_stopping_record(tmp_path):
    ship = runpy.run_path(str(SCRIPT))["ship"]
    tiny_trainer(tmp_path / "run", n=40).fit()
    (tmp_path / "run" / "stopping.json").write_text('{"checks": [], "stopped_at": 10}')
    w_dir, cal_dir, root = stand_ins(tmp_path)
    ship(tmp_path / "run", "toy", w_dir, cal_dir, root)
    out = shipped("toy", root)  # pinned in the manifest like every other file
    assert json.loads((out / "stopping.json").read_text())["stopped_at"] == 10


def test_a_w_ships_with_its_tuned_ga_steps(tmp_path):
    ship = runpy.run_path(str(SCRIPT))["ship"]
    tiny_trainer(tmp_path / "run", n=40).fit()
    w_dir, cal_dir, root = stand_ins(tmp_path)
    (w_dir / "ga_steps.json").write_text('{"steps": 3}')
    ship(tmp_path / "run", "toy", w_dir, cal_dir, root)
    assert (shipped("toy", root) / "reweight" / "ga_steps.json").read_text() == '{"steps": 3}'
    assert "reweight/ga_steps.json" in json.loads((root / "MANIFEST.json").read_text())["toy"]  # pinned
