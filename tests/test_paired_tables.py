import json
import runpy
from pathlib import Path

from latentrw.report import summarise

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "paired_tables.py"


def bench_file(path: Path, seed: int, fid: dict[str, float]) -> Path:
    """One seed's bench: the floor (the same record in every bench), base, a sampler and its sweep row."""
    def rec(sampler, label, s, fid_value, **extra):
        return {"source": "g", "checkpoint": "g", "sampler": sampler, "label": label, "seed": s, "n": 10,
                "metrics": {"fid": fid_value}, **extra}

    recs = [rec("real", "real vs real (floor)", 0, 1.0), rec("base", "base", seed, fid["base"]),
            rec("latent-rs-ga", "latent-rs-ga", seed, fid["ga"]),
            rec("latent-rs-ga", "latent-rs-ga steps=3", seed, fid["ga3"], knob="steps", value=3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


def test_benches_of_one_seed_each_merge_into_paired_rows(tmp_path):
    merged = runpy.run_path(str(SCRIPT))["merged"]
    files = [bench_file(tmp_path / f"s{s}.jsonl", s, {"base": 100 + s, "ga": 90 + 2 * s, "ga3": 80 + s})
             for s in (1, 2, 3)]
    recs = merged(files)
    assert len(recs) == 1 + 3 * 3  # the floor once
    rows = {r["label"]: r for r in summarise(recs)["g"]}
    assert rows["real vs real (floor)"]["seeds"] == 1
    # the sweep rows became a row of their own over all three seeds, paired with base by seed
    assert rows["latent-rs-ga steps=3"]["seeds"] == 3
    mean, half, better, pairs = rows["latent-rs-ga steps=3"]["paired"]["fid"]
    assert (mean, half, better, pairs) == (-20.0, 0.0, 3, 3)
    mean, _, better, pairs = rows["latent-rs-ga"]["paired"]["fid"]
    assert (mean, better, pairs) == (-8.0, 3, 3)  # 90 + 2s − (100 + s) over s = 1, 2, 3


def test_a_record_of_tuned_steps_is_a_row_apart_from_the_default_steps(tmp_path):
    merged = runpy.run_path(str(SCRIPT))["merged"]
    files = [bench_file(tmp_path / f"s{s}.jsonl", s, {"base": 100.0, "ga": 110.0, "ga3": 90.0}) for s in (1, 2)]
    tuned = [{"source": "g", "checkpoint": "g", "sampler": "latent-rs-ga", "label": "latent-rs-ga", "seed": s, "n": 10,
              "metrics": {"fid": 95.0}, "models": {"ga_steps": 3}} for s in (1, 2)]
    (tmp_path / "tuned.jsonl").write_text("".join(json.dumps(r) + "\n" for r in tuned))
    rows = {r["label"]: r for r in summarise(merged([*files, tmp_path / "tuned.jsonl"]))["g"]}
    assert rows["latent-rs-ga tuned"]["paired"]["fid"][0] == -5.0 and rows["latent-rs-ga tuned"]["seeds"] == 2
    assert rows["latent-rs-ga"]["paired"]["fid"][0] == 10.0  # the default steps' records, unmixed
