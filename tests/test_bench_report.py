"""The bench, the report built from its JSONL, and the shipped checkpoints."""

import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from helpers import load_strict_json

from latentrw.bench import QUICK_OPTIONS, SUITES, BenchConfig, bench
from latentrw.errors import CheckpointError, ConfigError, DataError
from latentrw.fileio import sha256_file
from latentrw.images import save_grid
from latentrw.report import build_report, headline, load_results, markdown_table, paired_table, short_rows, summarise
from latentrw.report_plots import pareto_figure, precision_recall_figure
from latentrw.reweight import ReweightConfig, load_critic, load_w
from latentrw.run import load_run
from latentrw.screenshot import screenshot
from latentrw.shipped import available, manifest, shipped
from latentrw.w_trainer import critic_agreement


def fixture_records(root):
    """A floor and two samplers over three seeds with known values, one sample grid."""
    grid = root / "artifacts" / "grid.png"
    grid.parent.mkdir(parents=True)
    save_grid(torch.zeros(4, 28, 28, dtype=torch.uint8), grid)
    art = {"samples": {"path": "artifacts/grid.png", "sha256": sha256_file(grid)}}
    recs = [{"source": "toy", "checkpoint": "toy", "sampler": "real", "label": "real vs real (floor)", "seed": 0,
             "n": 30, "metrics": {"precision": 0.9, "recall": 0.9}}]
    for sampler, base, in_between in (("base", 1.0, (0.3, 0.3, 0.3)), ("latent-rs", 2.0, (0.1, 0.1, 0.4))):
        for seed, dv in enumerate((0.0, 1.0, 2.0)):
            recs.append({"source": "toy", "checkpoint": "toy", "sampler": sampler, "label": sampler, "seed": seed,
                         "n": 30, "metrics": {"precision": base + dv, "recall": 0.5, "in_between": in_between[seed]},
                         "cost": {"ms": 1.0 + seed, "acceptance": 1 / 3, "proposals": 3.0},
                         "sampler_options": {"m": 3.0}, **({"artifacts": art} if seed == 0 else {})})
    path = root / "results.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


def test_report_from_a_fixture_has_the_right_intervals_tables_and_images(tmp_path):
    results = fixture_records(tmp_path)
    rows = summarise(load_results(results))["toy"]
    assert [r["label"] for r in rows] == ["real vs real (floor)", "base", "latent-rs"]
    mean, half = rows[1]["precision"]
    # values 1, 2, 3: mean 2, half-width t_{0.975, 2} · 1 / √3 = 4.3027 / 1.7321
    assert mean == pytest.approx(2.0) and half == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)
    assert rows[2]["precision"][0] == pytest.approx(3.0) and rows[1]["recall"] == (0.5, 0.0)
    assert "| latent-rs | 3 | 3 ± 2.5 |" in markdown_table(rows)
    # The unpaired intervals (2 ± 2.5, 3 ± 2.5) overlap, but latent-rs beats base by exactly 1 in each seed.
    assert rows[2]["paired"]["precision"] == pytest.approx((1.0, 0.0, 3, 3))
    assert rows[2]["paired"]["recall"] == pytest.approx((0.0, 0.0, 0, 3))  # a tie is not better
    # in-between: lower is better, so seeds 0 and 1 (0.1 against 0.3) count, seed 2 (0.4) does not;
    # differences −0.2, −0.2, +0.1: mean −0.1, s = √0.03, half-width 4.302653 · √0.03 / √3 = 0.4302653
    mean, half, better, pairs = rows[2]["paired"]["in_between"]
    assert mean == pytest.approx(-0.1) and half == pytest.approx(0.4302653, rel=1e-5)
    assert (better, pairs) == (2, 3)
    assert "paired" not in rows[0] and "paired" not in rows[1]
    assert "| latent-rs | +1 ± 0 (3/3) | +0 ± 0 (0/3) | -0.1 ± 0.43 (2/3) |" in paired_table(rows)
    one_seed = summarise([r for r in load_results(results) if r["sampler"] != "latent-rs" or r["seed"] == 0])["toy"]
    assert "| latent-rs | +1 no CI (1/1) |" in paired_table(one_seed)
    page = build_report(results, tmp_path / "report")
    text = page.read_text()
    assert text.count("<img ") >= 3 and "data:image/png;base64," in text and "http" not in text.split("<body>")[1]
    assert (tmp_path / "report" / "table.csv").read_text().splitlines()[0].startswith("checkpoint,sampler,seeds")
    assert "m=3.0" in (tmp_path / "report" / "table.md").read_text()
    assert "paired by seed" in (tmp_path / "report" / "table.md").read_text() and "sampler − base" in text
    csv_rows = (tmp_path / "report" / "table.csv").read_text().splitlines()
    assert "delta_precision_better" in csv_rows[0] and ",1.0,0.0,3,3,0.0,0.0,0,3," in csv_rows[-1]
    assert len({len(row.split(",")) for row in csv_rows}) == 1  # rectangular


def test_first_screen_names_the_best_sampler_with_its_paired_verdict(tmp_path):
    rows = summarise(load_results(fixture_records(tmp_path)))["toy"]
    head, body = short_rows(rows)
    assert head == ["sampler", "precision", "recall", "in-between", "ms / image"] and len(head) <= 6
    latent = body[2]
    # precision: +1 in every seed (interval ± 0) -> better; in-between: −0.1 ± 0.43 -> no mark
    assert latent[1] == "3.0 ± 2.5 ▲" and latent[3] == "0.20 ± 0.43" and latent[4] == "2.0 ± 2.5 (1.0×)"
    assert headline(rows) == ("Best precision, also within 2× base's cost: latent-rs (precision 3 against base's 2, "
                              "1.0× base's time per image; better than base in the paired test).")
    worse = [{**r, "precision": (1.0, 0.1), "paired": {"precision": (-1.0, 0.0, 0, 3)}} if r["label"] == "latent-rs"
             else r for r in rows]
    assert short_rows(worse)[1][2][1] == "1.00 ± 0.10 ▼"
    assert headline(worse) == "No sampler improves on base's precision (2)."
    costly = [{**r, "ms": (10.0, 0.0)} if r["label"] == "latent-rs" else r for r in rows]
    assert headline(costly).startswith("Nothing within 2× base's cost beats base's precision. Best overall: latent-rs")


def test_plot_labels_never_overlap(tmp_path):
    """Twelve samplers at almost the same place: every label is in the legend, none on the axes."""
    rows = [{"label": "real vs real (floor)", "sampler": "real", "precision": (0.9, 0.0), "recall": (0.9, 0.0)}]
    rows += [{"label": f"sampler-{i}", "sampler": f"s{i}", "precision": (0.5 + 1e-3 * i, 0.01),
              "recall": (0.4, 0.01), "ms": (1.0 + 1e-3 * i, 0.1)} for i in range(12)]
    for fig in (pareto_figure(rows, "t"), precision_recall_figure(rows, "t")):
        fig.canvas.draw()
        ax = fig.axes[0]
        texts = [t for t in ax.texts + ax.get_legend().get_texts() if t.get_text()]
        boxes = [t.get_window_extent() for t in texts]
        assert {t.get_text() for t in ax.get_legend().get_texts()} >= {f"sampler-{i}" for i in range(12)}
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
        styles = {(c.lines[0].get_marker(), c.lines[0].get_color()) for c in ax.containers}  # the error bars' points
        assert len(styles) == len(ax.containers) >= 12  # the samplers are told apart by marker and colour


def test_report_refuses_changed_artifacts_and_bad_lines(tmp_path):
    results = fixture_records(tmp_path)
    (tmp_path / "artifacts" / "grid.png").write_bytes(b"not the grid")
    with pytest.raises(DataError, match="sha256"):
        build_report(results, tmp_path / "report")
    results.write_text(results.read_text() + "{oops\n")
    with pytest.raises(DataError, match="not a JSON record"):
        load_results(results)
    with pytest.raises(DataError, match="latentrw bench"):
        load_results(tmp_path / "missing.jsonl")


def test_shipped_checkpoints_load_and_are_pinned(tmp_path):
    assert {"mnist-mlp-ns", "swissroll"} <= set(available())
    assert {c for suite in SUITES.values() for c in suite} <= set(available())  # every suite is shipped
    for name in available():
        directory = shipped(name)
        run = load_run(directory)
        assert (directory / "reweight" / "w.safetensors").is_file() and (directory / "calibrated" / "D.safetensors").is_file()
        assert run.config.dataset in ("mnist", "swissroll", "25gaussians", "fashion-mnist")
        for f in directory.rglob("*.json"):
            load_strict_json(f)
    copy = tmp_path / "checkpoints"
    shutil.copytree(shipped("swissroll").parent, copy, ignore=shutil.ignore_patterns("mnist-*"))
    (copy / "swissroll" / "G.safetensors").write_bytes(b"truncated")
    with pytest.raises(CheckpointError, match="does not match the pinned"):
        shipped("swissroll", root=copy)
    with pytest.raises(CheckpointError, match="available"):
        shipped("nope", root=copy)
    # A file changed after it was verified in this process is hashed, and refused, again.
    good = tmp_path / "good"
    shutil.copytree(shipped("swissroll").parent, good, ignore=shutil.ignore_patterns("mnist-*"))
    shipped("swissroll", root=good)
    config = good / "swissroll" / "config.json"
    config.write_bytes(config.read_bytes().replace(b"0", b"1", 1))  # the same size
    with pytest.raises(CheckpointError, match="does not match the pinned"):
        shipped("swissroll", root=good)
    assert set(manifest(copy)) >= {"swissroll"}


def test_bench_synthetic_quick_end_to_end_and_resumes(tmp_path, monkeypatch):
    config = BenchConfig("synthetic", n=500, seeds=(0, 1), options=QUICK_OPTIONS,  # = bench synthetic --quick
                         sweeps=(("truncation", "psi", (1.0, 2.0)),))
    lines = []
    results = bench(config, tmp_path / "results.jsonl", progress=lines.append)
    recs = load_results(results)
    samplers = {r["sampler"] for r in recs}
    assert len(samplers) == 13 and "real" in samplers  # 12 samplers and the floor
    # a line per record with the bar and its ETA, then the wall and CPU time
    total = len(recs)
    assert sum(f"/{total} " in line and "ETA" in line for line in lines) == total, lines[:3]
    assert f"] {total}/{total} " in lines[-2] and lines[-1].startswith(f"bench: {total} records, wall ")
    assert {r["checkpoint"] for r in recs} == {"swissroll", "25gaussians"}
    assert all(r["n"] == 500 and "emd" in r["metrics"] for r in recs)
    assert {r["cost"]["proposals"] for r in recs if r["sampler"] == "latent-rs"} != {1.0}
    swept = [r for r in recs if r.get("knob") == "psi"]
    assert sorted((r["checkpoint"], r["value"]) for r in swept) == [
        ("25gaussians", 1.0), ("25gaussians", 2.0), ("swissroll", 1.0), ("swissroll", 2.0)]
    assert all(r["sampler_options"]["psi"] == r["value"] and r["seed"] == 0 for r in swept)
    assert all(row["label"] != "truncation psi=1" for row in summarise(recs)["swissroll"])  # curves, not rows
    before = results.read_text()
    bench(config, results, progress=lambda s: None)  # everything done: nothing appended
    assert results.read_text() == before
    page = build_report(results, tmp_path / "report")
    assert page.read_text().count("<img ") >= 2 * (12 + 5)  # per checkpoint: sample scatters, plots
    assert (tmp_path / "report" / "swissroll-tradeoffs.png").is_file()
    changed = BenchConfig("synthetic", n=400, seeds=(0, 1), options=QUICK_OPTIONS)
    with pytest.raises(ConfigError, match="made with"):  # another N into the same file: refused, not mixed
        bench(changed, results, progress=lambda s: None)
    with pytest.raises(ValueError, match="takes no option"):
        BenchConfig("synthetic", sweeps=(("drs", "psi", (1.0,)),)).resolved()
    (tmp_path / "x" / "swissroll").mkdir(parents=True)
    with pytest.raises(ValueError, match="share a name"):
        BenchConfig("synthetic", checkpoints=("swissroll", str(tmp_path / "x" / "swissroll"))).resolved()
    monkeypatch.setitem(SUITES, "fashion-mnist", ())
    with pytest.raises(ValueError, match="no shipped checkpoint yet"):
        BenchConfig("fashion-mnist").resolved()
    with pytest.raises(ValueError, match="unknown sampler"):
        BenchConfig("synthetic", samplers=("nope",)).resolved()
    with pytest.raises(ValueError, match="unknown metric"):
        BenchConfig("synthetic", metrics=("fid", "nope")).resolved()
    fewer = BenchConfig("synthetic", n=500, seeds=(0, 1), options=QUICK_OPTIONS, metrics=("prdc",))
    with pytest.raises(ConfigError, match="made with"):  # other metrics into the same file: refused too
        bench(fewer, results, progress=lambda s: None)


def _chromium():
    """A headless Chromium driven by selenium, or a skip that says what is missing."""
    from latentrw.screenshot import browser

    try:
        return browser()
    except ConfigError as exc:
        pytest.skip(f"{exc} (.ci/run installs them)")


def test_html_report_renders_in_headless_chromium_and_fits_1280px(tmp_path):
    page = build_report(fixture_records(tmp_path), tmp_path / "report")
    browser = _chromium()
    try:
        info = screenshot(page, page.parent / "screenshot.png", width=1280, driver=browser)
        rows = browser.execute_script(
            "return Array.from(document.querySelectorAll('table')).map(t => t.tBodies[0].rows.length)")
        hidden = browser.execute_script(  # the full tables sit in collapsed sections
            "return Array.from(document.querySelectorAll('details')).filter(d => !d.open).length")
    finally:
        browser.quit()
    assert len(info["images"]) >= 3 and all(w > 0 for w in info["images"]), info
    assert info["inner_width"] == 1280 and info["scroll_width"] <= 1280, info  # no sideways scrolling
    assert rows and all(r > 0 for r in rows), rows
    assert hidden >= 2 and (page.parent / "screenshot.png").stat().st_size > 1000


def test_sample_and_evaluate_take_a_shipped_checkpoint_name(tmp_path):
    from click.testing import CliRunner

    from latentrw.cli import main

    out = CliRunner().invoke(main, ["sample", "swissroll", "--n", "20", "--out", str(tmp_path / "s"), "--sampler",
                                    "latent-rs"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "s" / "samples.npz").is_file()
    out = CliRunner().invoke(main, ["evaluate", "not-a-checkpoint"])
    assert out.exit_code != 0 and "neither an existing path nor a shipped checkpoint" in out.output


def test_a_shipped_name_and_a_folder_resolve_the_same_way_in_every_command(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from latentrw.cli import main
    from latentrw.shipped import resolve

    monkeypatch.chdir(tmp_path)
    (tmp_path / "swissroll").mkdir()  # a folder that shares a shipped checkpoint's name
    assert resolve("swissroll") == ("swissroll", shipped("swissroll"))  # the bare name: the shipped one
    assert resolve("./swissroll") == ("swissroll", Path("swissroll"))  # written as a path: the folder
    with pytest.raises(CheckpointError, match="neither an existing path nor a shipped checkpoint"):
        resolve("nope")
    out = CliRunner().invoke(main, ["sample", "./swissroll", "--n", "5", "--out", str(tmp_path / "s")])
    assert out.exit_code != 0 and "not a trained run directory" in out.output  # the folder was taken, as written
    out = CliRunner().invoke(main, ["sample", "swissroll", "--n", "5", "--out", str(tmp_path / "s")])
    assert out.exit_code == 0, out.output


def test_bench_with_another_w_records_which_w_and_refuses_to_mix(tmp_path):
    w_dir = tmp_path / "w"
    shutil.copytree(shipped("swissroll") / "reweight", w_dir)
    config = BenchConfig("synthetic", ("latent-rs",), seeds=(0,), n=200, checkpoints=("swissroll",), w_dir=str(w_dir))
    results = bench(config, tmp_path / "results.jsonl", progress=lambda s: None)
    rec = [r for r in load_results(results) if r["sampler"] == "latent-rs"][0]
    assert rec["fingerprint"]["w_sha256"] == sha256_file(shipped("swissroll") / "reweight" / "w.safetensors")
    shutil.copyfile(shipped("25gaussians") / "reweight" / "w.safetensors", w_dir / "w.safetensors")  # another w
    with pytest.raises(ConfigError, match="made with"):
        bench(config, results, progress=lambda s: None)
    with pytest.raises(ValueError, match="belongs to one checkpoint"):
        BenchConfig("synthetic", w_dir=str(w_dir)).resolved()


def test_bench_retrains_w_and_d_per_seed_and_resumes(tmp_path):
    w_opts = {"rounds": 2, "critic_steps": 5, "w_steps": 20, "bank": 1000}  # tiny: the plumbing, not the quality
    config = BenchConfig("synthetic", ("base", "latent-rs", "drs"), seeds=(0, 1), n=200, checkpoints=("swissroll",),
                         retrain_per_seed=True, w_options=w_opts, calibration_options={"steps": 10, "eval_every": 5})
    with pytest.warns(UserWarning, match="fitting steps"):  # the tiny w budget is said to be too short
        results = bench(config, tmp_path / "results.jsonl", progress=lambda s: None)
    recs = [r for r in load_results(results) if r["sampler"] != "real"]
    models = tmp_path / "models" / "swissroll"
    for seed in (0, 1):  # each seed's own w and calibrated D, with their training seconds
        (rs,) = [r for r in recs if r["sampler"] == "latent-rs" and r["seed"] == seed]
        (drs,) = [r for r in recs if r["sampler"] == "drs" and r["seed"] == seed]
        assert rs["models"]["w_dir"] == str(models / f"reweight-s{seed}") and rs["models"]["w_seconds"] > 0
        assert drs["models"]["calibrated_dir"] == str(models / f"calibrated-s{seed}")
        assert json.loads((models / f"reweight-s{seed}" / "config.json").read_text())["seed"] == seed
        # Spearman(w, its final critic), recomputed here from the saved files
        run = load_run(shipped("swissroll"))
        w_dir = models / f"reweight-s{seed}"
        rho = critic_agreement(run.G, run.prior, load_w(w_dir), load_critic(run.D, w_dir))
        assert rs["models"]["w_spearman"] == pytest.approx(rho, abs=1e-12)
        assert "w_reward_spearman" not in rs["models"]  # w's reward is its critic's (d_weight 0)
        assert "models" not in [r for r in recs if r["sampler"] == "base" and r["seed"] == seed][0]
    assert {r["fingerprint"]["retrain"]["w"]["rounds"] for r in recs} == {2}
    w0 = (models / "reweight-s0" / "w.safetensors").read_bytes()
    before = results.read_text()
    bench(config, results, progress=lambda s: None)  # done: nothing trained or drawn again
    assert results.read_text() == before and (models / "reweight-s0" / "w.safetensors").read_bytes() == w0
    # another recipe into the same models folder is refused, not reused under the new label
    other = BenchConfig("synthetic", ("latent-rs",), seeds=(0,), n=200, checkpoints=("swissroll",),
                        retrain_per_seed=True, w_options={**w_opts, "rounds": 3})
    with pytest.raises(ConfigError, match="holds a model made with"):
        bench(other, tmp_path / "other.jsonl", progress=lambda s: None)
    # an unfinished model (no seconds.txt, written last) is trained on, a finished one reused
    from latentrw.fileio import atomic_write_json
    from latentrw.retrain import RECIPE, SECONDS, _needs_training

    recipe = json.loads((models / "reweight-s0" / RECIPE).read_text())
    assert not _needs_training(models / "reweight-s0", recipe)
    # a recipe saved before a config field existed reads as holding the value that means the old behaviour
    older = {**recipe, "config": {k: v for k, v in recipe["config"].items() if k != "d_weight"}}
    atomic_write_json(models / "reweight-s0" / RECIPE, older)
    assert not _needs_training(models / "reweight-s0", recipe, lambda saved: ReweightConfig.from_dict(saved).to_dict())
    with pytest.raises(ConfigError, match="holds a model made with"):
        _needs_training(models / "reweight-s0", recipe)
    atomic_write_json(models / "reweight-s0" / RECIPE, recipe)
    (models / "reweight-s0" / SECONDS).unlink()
    assert _needs_training(models / "reweight-s0", recipe)
    with pytest.raises(ValueError, match="takes no --w-dir"):
        BenchConfig("synthetic", checkpoints=("swissroll",), retrain_per_seed=True, w_dir=str(models)).resolved()
    with pytest.raises(ValueError, match="apply with --retrain-per-seed"):
        BenchConfig("synthetic", w_options={"rounds": 3}).resolved()


def test_a_run_without_w_is_refused_before_anything_runs(tmp_path):
    run = tmp_path / "mine"
    shutil.copytree(shipped("swissroll"), run, ignore=shutil.ignore_patterns("reweight"))
    with pytest.raises(ConfigError, match=r"w.safetensors is missing.*latentrw reweight"):
        bench(BenchConfig("synthetic", ("base", "latent-rs"), seeds=(0,), n=100, checkpoints=(str(run),)),
              tmp_path / "results.jsonl", progress=lambda s: None)
    assert not (tmp_path / "results.jsonl").exists()  # nothing recorded
    results = bench(BenchConfig("synthetic", ("base", "drs"), seeds=(0,), n=100, checkpoints=(str(run),)),
                    tmp_path / "base.jsonl", progress=lambda s: None)  # samplers that need no w: fine
    assert {r["sampler"] for r in load_results(results)} == {"real", "base", "drs"}



def test_bench_floor_per_seed_draws_one_floor_per_seed_and_the_report_averages_them(tmp_path, tmp_cache):
    config = BenchConfig("synthetic", ("base",), seeds=(0, 3), n=200, checkpoints=("swissroll",), metrics=("emd",))
    single = bench(config, tmp_path / "single.jsonl", progress=lambda s: None)
    (floor0,) = [r for r in load_results(single) if r["sampler"] == "real"]  # the one floor a bench draws
    shutil.rmtree(tmp_cache / "floors")  # so the per-seed bench computes its seed-0 floor again
    results = bench(dataclasses.replace(config, floor_per_seed=True), tmp_path / "results.jsonl",
                    progress=lambda s: None)
    floors = {r["seed"]: r for r in load_results(results) if r["sampler"] == "real"}
    assert sorted(floors) == [0, 3] and floors[0]["metrics"]["emd"] != floors[3]["metrics"]["emd"]
    assert floors[0]["metrics"]["emd"] == floor0["metrics"]["emd"]  # seed 0 is the floor a bench always drew
    assert floors[0]["artifacts"] and not floors[3]["artifacts"]  # the figures and log are kept once
    (row,) = [r for r in summarise(load_results(results))["swissroll"] if r["sampler"] == "real"]
    assert row["seeds"] == 2 and row["emd"][0] == pytest.approx((floors[0]["metrics"]["emd"] + floors[3]["metrics"]["emd"]) / 2)
