"""AppTest: the Experiments page (designing a grid, its checks and estimate, a real tiny experiment from Start
to results, Stop, reopening by URL, delete, and "Train this setting")."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from conftest import until

from genre.data import workspace
from genre.data.params import FeatureParams
from genre.jobs.experiment import (
    Experiment,
    ExperimentSpec,
    launch_experiment,
    now,
    parse_vary,
    summarize,
    write_tables,
)
from genre.jobs.runs import new_run_id
from genre.learn.config import ModelConfig, TrainConfig
from tests.app_fixtures import TINY_PARAMS, button, by_label, open_page, texts
from workbench import ui

# The Features page's settings that give the tiny dataset's features (settings keys, not FeatureParams names).
TINY_SETTINGS = {"sr": 8000, "duration": 4, "segments": 2, "n_fft": 512, "hop": 256}


def page(tiny, **state):
    """The Experiments page on the tiny dataset with the tiny feature settings, after its first run."""
    return open_page("experiments", dataset_root=str(tiny.root), **TINY_SETTINGS, **state).run()


def vary(at, **values):
    """Choose the settings to vary and type their values."""
    at.multiselect(key="exp_vary").set_value(list(values)).run()
    for name, text in values.items():
        at.text_input(key=f"exp_values_{name}").set_value(text)
    return at.run()


def fake_experiment(root, points: dict, *, name: str = "dropout", repeats: int = 2, base_model=None,
                    summary: bool = True) -> Experiment:
    """A finished experiment's folder written by hand (no training): ``points`` is value -> mean track accuracy."""
    path = workspace.home() / "experiments" / new_run_id()
    path.mkdir(parents=True)
    trials = [{"settings": {name: value, "sample_rate": 8000}, "seed": seed, "fold": None, "run_id": None,
               "track_accuracy": acc + 0.02 * seed, "segment_accuracy": acc - 0.1, "epochs_run": 1, "seconds": 1.0}
              for value, acc in points.items() for seed in range(repeats)]
    base = {"features": FeatureParams(**TINY_PARAMS).to_dict(), "model": (base_model or ModelConfig()).to_dict(),
            "train": TrainConfig(epochs=3).to_dict()}
    (path / "experiment.json").write_text(json.dumps({
        "dataset": str(root), "varies": [[name, list(points)], ["sample_rate", [8000]]], "repeats": repeats,
        "split": "track", "folds": 5, "lists": None, "backend": "tensorflow", "created": now(), "trials": len(trials),
        "base": base}, default=list))
    if summary:
        write_tables(path, trials, summarize(trials))
    return Experiment(path)


def test_without_experiments_the_page_offers_a_new_one(home, tiny):
    at = page(tiny)
    assert not at.exception and not at.error
    assert "No experiments yet." in texts(at.caption)
    assert ("Unvaried settings come from the Features page (13 MFCCs, n_fft 512, hop 256, 2 segments of the first 4 s "
            "at 8000 Hz, all files)") in texts(at.caption)
    assert not at.dataframe
    assert by_label(at.number_input, "Workers").value >= 1 and by_label(at.radio, "Split").value == "track"
    assert {m.label: m.value for m in at.metric}["Trials"] == "3"  # nothing varied: 3 repeats of the settings
    assert not button(at, "Start experiment").disabled


@pytest.mark.parametrize("name, text, message", [
    ("dropout", "0, 1.5", "dropout must be in [0, 1)"),
    ("n_mfcc", "13, x", "'x' is not a valid value"),
    ("dropout", "0.3, 0.3", "given twice"),
    ("hidden_units", "64-0", "hidden_units must be 1 to 8 layer sizes"),
    ("hop_length", "256, 1024", "hop_length must be an integer from 1 to n_fft (512)"),  # valid alone, not with n_fft 512
])
def test_a_bad_value_is_an_error_and_start_is_disabled(home, tiny, name, text, message):
    at = vary(page(tiny), **{name: text})
    assert not at.exception
    assert message in texts(at.error)
    assert button(at, "Start experiment").disabled
    assert not at.metric  # no trial count for a grid that cannot run


def test_the_trial_count_and_the_estimate_from_finished_runs(home, tiny):
    at = vary(page(tiny), dropout="0, 0.5", n_mfcc="13, 20")
    by_label(at.number_input, "Repeats (seeds)").set_value(2)
    by_label(at.number_input, "Epochs").set_value(10)
    by_label(at.number_input, "Workers").set_value(2)
    by_label(at.radio, "Split").set_value("kfold").run()
    by_label(at.number_input, "Folds").set_value(3).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Trials": str(2 * 2 * 2 * 3), "Estimated time": "no estimate yet"}
    # One finished dense run on JAX (what auto picks for it) of one trial's size: 5 s for 10 epochs, 10 s from
    # creation to its first epoch's start. 12 tracks x 2 segments x 2/3 (3 folds) = 16 training rows.
    frames, _ = tiny.params.input_shape
    run = workspace.runs_dir() / new_run_id()
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"backend": "jax", "input_shape": [frames, 13],
                                              "model_config": {"kind": "dense"}}))
    (run / "status.json").write_text(json.dumps({"state": "done", "created": 100.0, "started": 110.0}))
    (run / "result.json").write_text(json.dumps({"seconds": 5.0, "metrics": {"epochs_run": 10, "n_train_segments": 16}}))
    at.run()
    # 12 trials with 13 coefficients: 10 + 5 s; 12 with 20: 10 + 5 x 20/13 s; 2 workers
    expected = (12 * 15 + 12 * (10 + 5 * 20 / 13)) / 2
    assert {m.label: m.value for m in at.metric}["Estimated time"] == f"≈ {ui.fmt_seconds(expected)}"
    by_label(at.radio, "Backend").set_value("tensorflow").run()
    assert {m.label: m.value for m in at.metric}["Estimated time"] == "no estimate yet"


def test_a_tiny_experiment_runs_in_its_own_process_and_shows_its_results(home, tiny):
    at = vary(page(tiny), dropout="0, 0.5")
    by_label(at.number_input, "Repeats (seeds)").set_value(1)
    by_label(at.number_input, "Epochs").set_value(1)
    by_label(at.number_input, "Workers").set_value(2).run()
    assert {m.label: m.value for m in at.metric}["Trials"] == "2"
    button(at, "Start experiment").click().run()
    assert not at.exception and not at.error
    exp_id = at.session_state["experiment_id"]
    assert at.query_params["exp"] in (exp_id, [exp_id])  # in the URL: a reload comes back to it
    exp = Experiment(workspace.home() / "experiments" / exp_id)
    if exp.running:
        assert button(at, "Stop")  # the live view
    result = until(exp.result, "the experiment's result", timeout=180, log=exp.path / "log.txt")
    assert [t["settings"]["dropout"] for t in result["trials"]] == [0.0, 0.5]
    assert all(t["track_accuracy"] is not None for t in result["trials"]), result["trials"]
    # The Features page's settings went in the spec's base, exactly: the trials used them.
    spec = exp.experiment_spec()
    assert spec.varies == (("dropout", (0.0, 0.5)),) and spec.features == tiny.params
    assert spec.fixed() == {k: v for k, v in TINY_PARAMS.items() if k != "files_per_genre"}
    assert FeatureParams.from_dict(exp.runs()[0].spec["feature_params"]) == tiny.params
    until(lambda: not exp.running, "the experiment's process to end", timeout=30, log=exp.path / "log.txt")
    at.run()
    assert not at.exception and not at.error
    experiments, summary = at.dataframe
    assert list(experiments.value["state"]) == ["done"] and list(experiments.value["trials"]) == ["2/2 scored"]
    assert len(summary.value) == 2 and list(summary.value.columns[:2]) == ["dropout", "track acc"]
    assert summary.value["gap"].notna().all()
    assert len(at.image) == 1  # the sweep of dropout (one varied setting: no heatmap)
    assert "Each point was trained once" in texts(at.caption)
    assert at.get("download_button")[0].proto.label == "summary.csv"


@pytest.fixture
def long_experiment(home, tiny):
    """An experiment started elsewhere (the CLI, another tab) whose trials would run for a long time."""
    base = {"features": FeatureParams(**TINY_PARAMS), "model": ModelConfig(hidden_units=(16,))}
    spec = ExperimentSpec.build(tiny.root, [parse_vary("dropout=0,0.5")], base=base, repeats=1, epochs=10000, workers=1)
    exp = launch_experiment(spec, workspace.home() / "experiments" / new_run_id())
    yield exp
    exp.request_stop()
    until(lambda: not exp.running, "the stopped experiment to end", timeout=120, log=exp.path / "log.txt")


def test_a_running_experiment_is_shown_live_to_any_session_and_any_session_can_stop_it(home, tiny, long_experiment):
    exp = long_experiment
    until(lambda: any(r.epochs() for r in exp.runs()), "a trial's first epoch", timeout=120,
          log=exp.path / "log.txt")
    at = open_page("experiments").run()  # a fresh session: no state of its own
    assert not at.exception
    assert by_label(at.selectbox, "Show experiment").value == exp.id
    assert re.match(r"Trial 1 of 2 · 0 finished · elapsed", at.get("progress")[0].proto.text)
    assert len(at.get("vega_lite_chart")) == 2  # the trial in flight: accuracy and loss
    assert "**dropout=0 seed=0** · epoch" in texts(at.caption)  # named by what varies, not the fixed settings
    button(at, "Stop").click().run()
    assert not at.exception
    assert (exp.path / "stop").exists() and "Stopping" in texts(at.caption)
    result = until(exp.result, "the stopped experiment's result", timeout=120, log=exp.path / "log.txt")
    first, second = result["trials"]
    assert first["track_accuracy"] is not None and "stopped" in second["error"]
    until(lambda: not exp.running, "the experiment's process to end", timeout=30, log=exp.path / "log.txt")
    at.run()
    assert not at.exception
    assert any(h.value.endswith(": stopped") for h in at.subheader)
    assert "1 trial not scored: not run: the experiment was stopped" in texts(at.warning)


def test_the_url_reopens_an_experiment_and_a_failed_one_says_why(home, tiny):
    older = fake_experiment(tiny.root, {0.0: 0.6, 0.5: 0.7})
    failed = fake_experiment(tiny.root, {0.0: 0.6, 0.5: 0.7}, summary=False)
    (failed.path / "log.txt").write_text("error: cannot read /gone: No such file or directory\n")
    at = open_page("experiments")
    at.query_params["exp"] = older.id
    at.run()
    assert not at.exception and not at.error
    assert by_label(at.selectbox, "Show experiment").value == older.id
    assert list(at.dataframe[0].value["state"]) == ["failed", "done"]  # every experiment listed, newest first
    assert list(at.dataframe[0].value["best track acc"]) == ["–", "71.0% ± 1.4"]
    assert "Fixed: sample_rate=8000" in texts(at.caption)
    by_label(at.selectbox, "Show experiment").set_value(failed.id).run()
    assert not at.exception
    assert "error: cannot read /gone" in texts(at.error)


def test_two_varied_settings_draw_a_sweep_each_and_a_heatmap(home, tiny):
    path = workspace.home() / "experiments" / new_run_id()
    trials = [{"settings": {"dropout": d, "n_mfcc": m}, "seed": s, "fold": None, "run_id": None,
               "track_accuracy": 0.5 + d / 10 + m / 100 + s / 50, "segment_accuracy": 0.4, "epochs_run": 1,
               "seconds": 1.0} for d in (0.0, 0.5) for m in (13, 20) for s in (0, 1)]
    path.mkdir(parents=True)
    (path / "experiment.json").write_text(json.dumps({"varies": [["dropout", [0.0, 0.5]], ["n_mfcc", [13, 20]]],
                                                      "split": "track", "repeats": 2, "trials": 8}))
    write_tables(path, trials, summarize(trials))
    at = open_page("experiments").run()
    assert not at.exception and not at.error
    assert len(at.dataframe[1].value) == 4 and len(at.image) == 3  # two sweeps, one heatmap
    assert "Differences smaller than about 2 × std (here ±2.8 points) are noise." in texts(at.caption)


def test_delete_needs_the_confirmation_and_resets_it(home, tiny):
    keep = fake_experiment(tiny.root, {0.0: 0.6, 0.5: 0.7})
    doomed = fake_experiment(tiny.root, {0.0: 0.5, 0.3: 0.55})
    at = open_page("experiments").run()
    assert by_label(at.selectbox, "Show experiment").value == doomed.id  # the newest
    by_label(at.selectbox, "Experiment").set_value(doomed.id)
    assert button(at, "Delete").disabled
    by_label(at.checkbox, "Yes, delete it and its trials").check().run()
    button(at, "Delete").click().run()
    assert not at.exception and not at.error
    assert not doomed.path.exists() and keep.path.exists()
    assert by_label(at.checkbox, "Yes, delete it and its trials").value is False
    assert button(at, "Delete").disabled  # the next delete needs its own confirmation
    assert by_label(at.selectbox, "Show experiment").value == keep.id
    assert list(at.dataframe[0].value["id"]) == [keep.id]


def test_train_this_setting_sets_the_train_and_features_settings_and_opens_train(home, tiny):
    store = workspace.features_path(tiny.root, tiny.params)  # the features the experiment extracted
    store.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(tiny.store, store)
    exp = fake_experiment(tiny.root, {0.0: 0.6, 0.5: 0.7}, base_model=ModelConfig(hidden_units=(16,)))
    at = open_page("experiments", n_mfcc=30, dropout=0.1, layers="64").run()  # other settings than the trials'
    point = by_label(at.selectbox, "Grid point")
    assert point.value == 0 and "dropout=0.5" in point.format_func(0)  # the best first
    button(at, "Train this setting").click().run()
    assert not at.exception and not at.error
    assert by_label(at.slider, "Dropout").value == 0.5  # on the Train page now
    assert by_label(at.text_input, "Hidden layers (units)").value == "16"
    assert by_label(at.number_input, "Epochs").value == 3
    assert {k: at.session_state[k] for k in TINY_SETTINGS} == TINY_SETTINGS and at.session_state["n_mfcc"] == 13
    assert "Extract features first" not in texts(at.info)  # the experiment's features, loaded from the cache
    assert at.session_state["features_path"] == str(store)
    assert exp.path.exists()


def test_train_this_setting_says_what_the_train_page_cannot_take(home, tiny):
    fake_experiment(tiny.root, {5e-4: 0.7, 1e-4: 0.6}, name="learning_rate")
    at = open_page("experiments").run()
    button(at, "Train this setting").click().run()
    assert not at.exception
    assert "cannot take: lr=0.0005" in texts(at.warning)
    assert at.session_state["sr"] == 8000  # the rest is set


def test_an_experiment_folder_made_by_the_cli_can_be_opened(home, tmp_path):
    import json

    from tests.app_fixtures import button, by_label, open_page

    folder = tmp_path / "cli-exp"
    folder.mkdir()
    (folder / "experiment.json").write_text(json.dumps({"varies": [["dropout", [0.0, 0.5]]], "trials": 0,
                                                        "repeats": 1, "split": "track"}))
    at = open_page("experiments").run()
    by_label(at.text_input, "Folder").set_value(str(tmp_path / "nothing-here")).run()
    button(at, "Open").click().run()
    assert not at.exception and "is not an experiment folder" in at.error[0].value
    by_label(at.text_input, "Folder").set_value(str(folder)).run()
    button(at, "Open").click().run()
    assert not at.exception
    assert at.session_state["experiment_id"] == "cli-exp"
    again = open_page("experiments").run()  # a new session: still listed
    assert any("cli-exp" in o for o in by_label(again.selectbox, "Show experiment").options)
