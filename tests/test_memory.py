import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from latentrw.memory import ENV, keep_freed_memory

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "malloc_speed.py"
GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def test_turned_off_by_the_environment(monkeypatch):
    monkeypatch.setenv(ENV, "0")
    assert keep_freed_memory() is False


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_a_cnn_critic_step_reuses_its_memory_instead_of_faulting_it_in_again():
    """The benchmark's child processes: the w trainer's critic step on a small cnn, with malloc as it
    is and with freed memory kept; the kernel hands the second far fewer fresh pages."""
    def faults(mode: str) -> float:
        cmd = [sys.executable, str(BENCH), "--child", mode, "--width", "16", "--steps", "2"]
        out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        assert out["applied"] is (mode == "keep")
        return out["faults"]

    assert faults("keep") < faults("default") / 4
