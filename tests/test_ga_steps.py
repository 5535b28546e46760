"""latentGA's step count tuned per w on held-out training images (latentrw.ga_steps)."""

import json
import shutil

import pytest

from latentrw.errors import ConfigError
from latentrw.ga_steps import GA_STEPS_FILE, choose_steps, tune_ga_steps
from latentrw.reweight import W_FILE, load_w
from latentrw.run import load_run
from latentrw.sample import make_sampler
from latentrw.shipped import resolve


def test_the_rule_takes_the_steps_of_lowest_score_and_the_fewer_of_a_tie():
    rows = [{"steps": 1, "fid": 90.0}, {"steps": 3, "fid": 85.0}, {"steps": 5, "fid": 130.0}, {"steps": 10, "fid": 85.0}]
    assert choose_steps(rows) == 3
    assert choose_steps([{"steps": 3, "emd": 0.2}, {"steps": 1, "emd": 0.1}], "emd") == 1


@pytest.fixture
def mlp_w(tmp_path):
    """The shipped mnist-mlp-ns run and an untuned copy of its w that tuning may write into."""
    run_dir = resolve("mnist-mlp-ns")[1]
    w_dir = tmp_path / "w"
    shutil.copytree(run_dir / "reweight", w_dir, ignore=shutil.ignore_patterns(GA_STEPS_FILE))
    return load_run(run_dir), run_dir, w_dir


def test_tuning_writes_its_choice_and_the_samplers_default_to_it(mlp_w):
    run, run_dir, w_dir = mlp_w
    assert load_w(w_dir).ga_steps is None
    assert make_sampler("latent-rs-ga", run, run_dir, w_dir).params()["steps"] == 10  # untuned: the default
    found = tune_ga_steps(run, w_dir, candidates=(2, 0), n=300, holdout=1000)

    saved = json.loads((w_dir / GA_STEPS_FILE).read_text())
    assert saved == json.loads(json.dumps(found))
    assert [r["steps"] for r in found["candidates"]] == [0, 2]
    assert found["steps"] == choose_steps(found["candidates"])
    assert all(0 <= r["precision"] <= 1 and r["fid"] > 0 for r in [found["base"], *found["candidates"]])
    assert load_w(w_dir).ga_steps == found["steps"]
    for name in ("latent-rs-ga", "latent-ga"):
        assert make_sampler(name, run, run_dir, w_dir).params()["steps"] == found["steps"]
    assert make_sampler("latent-rs-ga", run, run_dir, w_dir, steps=7).params()["steps"] == 7  # asked beats tuned


def test_a_tuning_of_another_w_is_ignored_with_a_warning_and_tuning_again_mends_it(mlp_w):
    run, run_dir, w_dir = mlp_w
    tune_ga_steps(run, w_dir, candidates=(1,), n=200, holdout=500)
    shutil.copy(resolve("mnist-mlp-wgan-gp")[1] / "reweight" / W_FILE, w_dir / W_FILE)  # another w since
    with pytest.warns(UserWarning, match="tuned for another w.*tune-ga"):
        assert load_w(w_dir).ga_steps is None
    with pytest.warns(UserWarning, match="tuned for another w"):
        assert make_sampler("latent-rs-ga", run, run_dir, w_dir).params()["steps"] == 10
    tune_ga_steps(run, w_dir, candidates=(2,), n=200, holdout=500)  # the command the warning names works
    assert load_w(w_dir).ga_steps == 2
    (w_dir / GA_STEPS_FILE).write_text("{not json")
    with pytest.warns(UserWarning, match="not a GA-steps tuning"):
        assert load_w(w_dir).ga_steps is None


def test_the_tuned_count_holds_only_at_the_step_size_and_mode_it_was_tuned_with(mlp_w):
    run, run_dir, w_dir = mlp_w
    tune_ga_steps(run, w_dir, candidates=(2,), n=200, holdout=500)
    assert make_sampler("latent-ga", run, run_dir, w_dir).params()["steps"] == 2
    assert make_sampler("latent-ga", run, run_dir, w_dir, mode="plain").params()["steps"] == 10
    assert make_sampler("latent-ga", run, run_dir, w_dir, step_size=0.3).params()["steps"] == 10


def test_bad_candidates_and_holdout_are_clear_errors(mlp_w):
    run, _, w_dir = mlp_w
    with pytest.raises(ConfigError, match=">= 0"):
        tune_ga_steps(run, w_dir, candidates=(-1, 3))
    with pytest.raises(ConfigError, match="holdout"):
        tune_ga_steps(run, w_dir, holdout=10**6)


def test_the_command_tunes_and_names_a_bad_candidate_list(mlp_w):
    from click.testing import CliRunner

    from latentrw.cli import main

    _, run_dir, w_dir = mlp_w
    args = ["tune-ga", str(run_dir), "--w-dir", str(w_dir), "--n", "200", "--holdout", "500", "--quiet"]
    bad = CliRunner().invoke(main, [*args, "--candidates", "1,x"])
    assert bad.exit_code == 2 and "comma-separated list of integers" in bad.output
    ok = CliRunner().invoke(main, [*args, "--candidates", "1"])
    assert ok.exit_code == 0, ok.output
    assert f"latentGA steps for {w_dir}: 1" in ok.output and (w_dir / GA_STEPS_FILE).is_file()


def test_a_bench_tunes_each_seeds_w_and_samples_with_its_steps(tmp_path, monkeypatch):
    import functools

    from latentrw import ga_steps, retrain
    from latentrw.bench import BenchConfig, bench
    from latentrw.report import load_results

    # one candidate that is not the untuned default, so the record's steps can only come from the tuning
    monkeypatch.setattr(retrain, "tune_ga_steps", functools.partial(ga_steps.tune_ga_steps, candidates=(2,)))
    w_opts = {"rounds": 2, "critic_steps": 5, "w_steps": 20, "bank": 1000}  # tiny: the plumbing, not the quality
    config = BenchConfig("synthetic", ("latent-rs-ga",), seeds=(0,), n=200, checkpoints=("swissroll",),
                         retrain_per_seed=True, w_options=w_opts, tune_ga=True)
    with pytest.warns(UserWarning, match="fitting steps"):
        results = bench(config, tmp_path / "results.jsonl", progress=lambda s: None)
    (rec,) = [r for r in load_results(results) if r["sampler"] == "latent-rs-ga"]
    tuned = json.loads((tmp_path / "models" / "swissroll" / "reweight-s0" / GA_STEPS_FILE).read_text())
    assert tuned["by"] == "emd" and tuned["n"] == 200  # 2-D data: EMD takes FID's place
    assert rec["sampler_options"]["steps"] == rec["models"]["ga_steps"] == tuned["steps"] == 2
    assert rec["fingerprint"]["retrain"]["tune_ga"] is True
    with pytest.raises(ValueError, match="--tune-ga apply with --retrain-per-seed"):
        BenchConfig("synthetic", ("latent-rs-ga",), tune_ga=True).resolved()
    with pytest.raises(ValueError, match="add latent-ga or latent-rs-ga"):
        BenchConfig("synthetic", ("latent-rs",), retrain_per_seed=True, tune_ga=True).resolved()


def test_a_bench_of_a_w_tuned_since_is_refused_not_mixed(tmp_path, mlp_w):
    from latentrw.bench import BenchConfig, bench

    run, run_dir, w_dir = mlp_w
    config = BenchConfig("mnist", ("latent-rs-ga",), seeds=(0,), n=100, checkpoints=(str(run_dir),),
                         metrics=("fid",), w_dir=str(w_dir))
    results = bench(config, tmp_path / "results.jsonl", progress=lambda s: None)
    tune_ga_steps(run, w_dir, candidates=(2,), n=200, holdout=500)
    with pytest.raises(ConfigError, match="made with"):
        bench(config, results, progress=lambda s: None)


def test_every_shipped_tuning_belongs_to_its_shipped_w():
    import warnings

    from latentrw.shipped import CHECKPOINTS_DIR

    tuned = {}
    for w_file in sorted(CHECKPOINTS_DIR.glob("*/reweight/" + W_FILE)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a stale or unreadable ga_steps.json warns: fail on it
            tuned[w_file.parent.parent.name] = load_w(w_file.parent).ga_steps
    assert tuned["mnist-cnn-ns"] == 3 and tuned["mnist-mlp-ns"] == 1  # what docs/results.md reports
