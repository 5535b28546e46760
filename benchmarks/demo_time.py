"""Time the README's main command as a new user meets it: a fresh clone, `bash scripts/setup.sh`,
then `latentrw demo` and `latentrw demo --quick`, each with its wall and CPU time and the machine.

    python benchmarks/demo_time.py [--out runs/demo-time.json] [--skip-quick] [--warm-cache]

The clone goes to a temporary folder with its own dataset cache (``LATENTRW_CACHE``) and pip
runs without its download cache, so nothing from this checkout's runs is reused; the
committed HEAD is what is timed. ``--warm-cache`` keeps your dataset cache and pip's cache,
for timing the demo alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict:
    """The CPU model, its vector extensions, the cores this process may use, and the OS."""
    info = {"cpu": platform.processor() or "unknown", "cores": len(os.sched_getaffinity(0)),
            "platform": platform.platform()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        info["cpu"] = fields.get("Model name", info["cpu"]).strip()
        flags = fields.get("Flags", "").split()
        info["vector"] = [f for f in ("avx2", "avx512f", "amx_tile") if f in flags]
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def timed(cmd: list[str], cwd: Path, env: dict, log: Path) -> dict:
    """Run ``cmd``, its output to ``log``; its wall time and the CPU time of it and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log, "w") as f:
        rc = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if rc != 0:
        sys.exit(f"{' '.join(cmd)} failed (exit {rc}); see {log}")
    return {"command": " ".join(cmd), "wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "demo-time.json")
    parser.add_argument("--skip-quick", action="store_true", help="Time set-up and the demo only.")
    parser.add_argument("--warm-cache", action="store_true", help="Keep the dataset cache and pip's cache.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="latentrw-demo-time-"))
    clone = work / "latentrw"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = dict(os.environ)
    if not args.warm_cache:
        env |= {"LATENTRW_CACHE": str(work / "cache"), "PIP_NO_CACHE_DIR": "1"}
    steps = {"setup": timed(["bash", "scripts/setup.sh"], clone, env, work / "setup.log"),
             "demo": timed([".venv/bin/latentrw", "demo"], clone, env, work / "demo.log")}
    if not args.skip_quick:
        steps["demo --quick"] = timed([".venv/bin/latentrw", "demo", "--quick"], clone, env, work / "quick.log")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True).stdout
    result = {"machine": machine(), "commit": commit.strip(), "cold_cache": not args.warm_cache, "steps": steps,
              "setup_and_demo_wall_s": round(steps["setup"]["wall_s"] + steps["demo"]["wall_s"], 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    m = result["machine"]
    print(f"{m['cpu']} ({', '.join(m.get('vector', [])) or 'no AVX2'}), {m['cores']} cores; commit {result['commit']}")
    for name, s in steps.items():
        print(f"  {name:<14} wall {s['wall_s'] / 60:5.2f} min   CPU {s['cpu_s'] / 60:5.2f} min")
    print(f"  set-up + demo  wall {result['setup_and_demo_wall_s'] / 60:5.2f} min\n{args.out}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
