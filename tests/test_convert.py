"""latentrw convert: a trusted .pt becomes safetensors; nothing but tensors is ever built."""

import pickle
import subprocess
import sys

import pytest
import torch

from latentrw.checkpoint import load_tensors
from latentrw.convert import convert
from latentrw.errors import CheckpointError


class Evil:
    def __reduce__(self):
        return (print, ("code ran",))


def test_convert_flattens_a_state_dict_and_refuses_objects(tmp_path, capfd):
    torch.save({"epoch": 3, "G": {"fc.weight": torch.ones(2, 3)}, "D": [torch.zeros(4)]}, tmp_path / "a.pt")
    convert(tmp_path / "a.pt", tmp_path / "a.safetensors")
    tensors, header = load_tensors(tmp_path / "a.safetensors")
    assert set(tensors) == {"G.fc.weight", "D.0"} and torch.equal(tensors["G.fc.weight"], torch.ones(2, 3))
    assert header["converted_from"] == "a.pt" and len(header["source_sha256"]) == 64
    tied = torch.ones(2)
    torch.save({"G": {"w": tied}, "ema": {"w": tied}}, tmp_path / "tied.pt")  # one tensor under two names
    assert set(convert(tmp_path / "tied.pt", tmp_path / "tied.safetensors")) == {"G.w", "ema.w"}
    convert(tmp_path / "a.pt", tmp_path / "g.safetensors", key="G")
    assert set(load_tensors(tmp_path / "g.safetensors")[0]) == {"fc.weight"}
    with pytest.raises(CheckpointError, match="no entry 'X'; entries: D, G, epoch"):
        convert(tmp_path / "a.pt", tmp_path / "x.safetensors", key="X")
    with open(tmp_path / "evil.pt", "wb") as f:  # a pickle that would run code if unpickled freely
        pickle.dump({"w": Evil()}, f)
    with pytest.raises(CheckpointError, match="weights-only"):
        convert(tmp_path / "evil.pt", tmp_path / "evil.safetensors")
    assert not (tmp_path / "evil.safetensors").exists() and "code ran" not in capfd.readouterr().out
    (tmp_path / "junk.pt").write_bytes(b"\x00junk")
    with pytest.raises(CheckpointError):
        convert(tmp_path / "junk.pt", tmp_path / "junk.safetensors")


def test_convert_cli(tmp_path):
    torch.save({"state_dict": {"w": torch.ones(3)}}, tmp_path / "m.pth")
    out = subprocess.run([sys.executable, "-m", "latentrw.cli", "convert", str(tmp_path / "m.pth"),
                          str(tmp_path / "m.safetensors"), "--key", "state_dict"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "1 tensors, 3 numbers" in out.stdout
