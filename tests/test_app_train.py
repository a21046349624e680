"""AppTest: the Train page (controls, their checks, a run in a thread, Stop, results)."""

from __future__ import annotations

import re

import pytest
from conftest import until

from genre.data import workspace
from genre.data.params import FeatureParams
from genre.jobs.runs import create_run, open_run, wait
from genre.learn.config import ModelConfig, TrainConfig
from genre.learn.splits import SEGMENT_SPLIT_NOTE
from tests.app_fixtures import TINY_PARAMS, button, by_label, open_page, texts

CONTROLS = ["Hidden layers (units)", "Run name"]


@pytest.fixture
def at(home, tiny):
    """The Train page with the tiny features in session state, after its first run."""
    return open_page("train", features=tiny.features, features_path=str(tiny.store)).run()


@pytest.fixture
def running_run(home, tiny):
    """A run in processes of its own, long enough to still be going while the test looks at it."""
    from genre.jobs.execution import launch
    from genre.jobs.runs import create_run

    run = create_run(workspace.runs_dir(), features_path=tiny.store, features=tiny.features,
                     model_config=ModelConfig(hidden_units=(16,)), train_config=TrainConfig(epochs=10000),
                     name="long", models_dir=workspace.models_dir())
    launch(run)
    yield run
    run.request_stop()
    wait(run, timeout=120)


def test_without_features_the_settings_are_there_but_start_is_disabled(home):
    at = open_page("train").run()
    assert not at.exception and not at.error
    assert "Extract features first" in at.info[0].value
    assert by_label(at.text_input, "Hidden layers (units)").value == "512, 256, 64"
    assert button(at, "Start training").disabled


def test_controls_exist_and_start_is_enabled(at):
    assert not at.exception and not at.error
    assert by_label(at.text_input, "Hidden layers (units)").value == "512, 256, 64"
    assert by_label(at.slider, "Dropout").value == 0.3
    assert by_label(at.select_slider, "Learning rate (Adam)").value == 1e-4
    assert by_label(at.number_input, "Epochs").value == 50
    assert by_label(at.radio, "Split").value == "track"
    assert not button(at, "Start training").disabled


def test_segment_split_shows_its_warning(at):
    assert SEGMENT_SPLIT_NOTE not in texts(at.warning)
    by_label(at.radio, "Split").set_value("segment").run()
    assert not at.exception
    assert SEGMENT_SPLIT_NOTE in texts(at.warning)


@pytest.mark.parametrize("units, message", [
    ("abc", "whole numbers separated by commas"),
    ("16, x", "whole numbers separated by commas"),
    ("0", "from 1 to 8192"),
    ("", "1 to 8 layer sizes"),
])
def test_bad_hidden_layers_are_an_error_and_disable_start(at, units, message):
    by_label(at.text_input, "Hidden layers (units)").set_value(units).run()
    assert not at.exception
    assert message in texts(at.error)
    assert button(at, "Start training").disabled


def test_features_of_one_genre_cannot_be_trained(home, tmp_path):
    from genre.data.demo import make_demo_dataset
    from genre.data.extract import extract_to_store

    root = make_demo_dataset(tmp_path / "one", genres=1, clips_per_genre=4, duration=4.0, sample_rate=8000)
    params = FeatureParams(**TINY_PARAMS)
    store = workspace.features_path(root, params)
    fs, _ = extract_to_store(root, params, store)
    at = open_page("train", features=fs, features_path=str(store)).run()
    assert not at.exception
    assert "at least two genres" in texts(at.error)
    assert button(at, "Start training").disabled


def test_a_tiny_run_trains_in_its_own_process_and_shows_its_results(at, tiny):
    by_label(at.text_input, "Hidden layers (units)").set_value("16")
    by_label(at.number_input, "Epochs").set_value(2)
    button(at, "Start training").click().run()
    assert not at.exception
    run = open_run(workspace.runs_dir(), at.session_state["run_id"])
    assert run is not None and at.query_params["run"] in (run.id, [run.id])  # in the URL: a reload comes back to it
    assert run.spec["train_config"]["epochs"] == 2 and run.spec["model_config"]["hidden_units"] == [16]
    assert run.spec["features"] == str(at.session_state["features_path"])  # the store the tab extracted
    assert wait(run, timeout=180)["state"] == "done", run.status()
    at.run()
    assert not at.exception and not at.error
    labels = [m.label for m in at.metric]
    assert "Segment accuracy (test)" in labels and "Track accuracy (test, vote)" in labels
    assert "Saved as model bundle" in at.success[0].value
    assert (run.bundle_path / "bundle.json").is_file() and run.bundle_path.parent == workspace.models_dir()
    assert not button(at, "Start training").disabled  # ready for another run
    assert at.session_state["bundle_path"] == str(run.bundle_path)  # no model was chosen: the new one is
    assert f"**Model** · {run.bundle_path.name}" in texts(at.caption)
    button(at, "Classify with it").click().run()
    assert not at.exception
    assert at.session_state["bundle_path"] == str(run.bundle_path)


def test_a_running_run_is_shown_live_to_any_session_and_any_session_can_stop_it(home, tiny, running_run):
    # A fresh session (a reload, another tab, an app restart) with no features and no state of its own.
    at = open_page("train").run()
    assert not at.exception
    assert "Extract features first" in texts(at.info)
    assert by_label(at.selectbox, "Show run").value == running_run.id
    until(lambda: running_run.epochs())
    at.run()
    assert not at.exception
    assert re.match(r"Epoch \d+/10000 · elapsed", at.get("progress")[0].text)
    button(at, "Stop").click().run()
    assert not at.exception
    assert running_run.stop_requested
    assert wait(running_run, timeout=120)["state"] == "stopped", running_run.status()
    at.run()
    assert "Stopped on request" in texts(at.info)
    assert "Saved as model bundle" in at.success[0].value


def test_the_url_chooses_the_run_to_show(home, tiny, running_run):
    from genre.jobs.execution import execute

    done = create_run(workspace.runs_dir(), features_path=tiny.store, features=tiny.features,
                      model_config=ModelConfig(hidden_units=(8,)), train_config=TrainConfig(epochs=1), name="short",
                      models_dir=workspace.models_dir())
    execute(done)
    at = open_page("train")
    at.query_params["run"] = running_run.id
    at.run()
    assert by_label(at.selectbox, "Show run").value == running_run.id
    at = open_page("train")
    at.query_params["run"] = done.id
    at.run()
    assert not at.exception
    assert by_label(at.selectbox, "Show run").value == done.id
    assert "Run “short”: done" in [h.value for h in at.subheader]
    # Looking at a run started elsewhere does not make its model the chosen one; only a run this tab started does.
    assert "bundle_path" not in at.session_state or at.session_state["bundle_path"] is None


def test_a_genre_without_test_tracks_shows_dashes_and_is_named(home, tiny):
    import json

    from genre.atomic import write_text

    run = create_run(workspace.runs_dir(), features_path=tiny.store, features=tiny.features,
                     model_config=ModelConfig(hidden_units=(8,)), train_config=TrainConfig(epochs=1), name="made")
    per = {"ambient": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2},
           "chiptune": {"precision": 0.5, "recall": 1.0, "f1": 0.667, "support": 1},
           "rock": {"precision": None, "recall": None, "f1": None, "support": 0}}
    metrics = {"segment_accuracy": 0.75, "track_accuracy": 1.0, "n_segments": 6, "n_tracks": 3, "epochs_run": 1,
               "confusion": [[2, 0, 0], [0, 1, 0], [0, 0, 0]], "per_genre": per, "split": "track",
               "validation": "the test split", "stratified": False, "untested_genres": ["rock"]}
    write_text(run.path / "result.json", json.dumps({"metrics": metrics, "history": {"loss": [1.0]}, "seconds": 1.0,
                                                     "stopped": False, "summary": ""}))
    write_text(run.path / "status.json", json.dumps({"state": "done"}))
    at = open_page("train")
    at.query_params["run"] = run.id
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.loc["rock", ["precision", "recall", "f1"]]) == ["–", "–", "–"]
    assert "stratified by genre except rock (too few tracks to test)" in texts(at.caption)


def test_kfold_and_lists_show_their_own_settings_and_check_the_split(at, tiny, tmp_path):
    by_label(at.radio, "Split").set_value("kfold").run()
    assert not at.exception and not at.error
    by_label(at.number_input, "Folds").set_value(4).run()
    by_label(at.number_input, "Test fold").set_value(3).run()
    by_label(at.number_input, "Folds").set_value(2).run()  # the test fold follows down
    assert not at.exception and by_label(at.number_input, "Test fold").value == 1
    by_label(at.radio, "Split").set_value("lists").run()
    assert "split='lists' needs lists" in texts(at.error) and button(at, "Start training").disabled
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "train.txt").write_text("\n".join(tiny.features.files[::2]))
    (lists / "test.txt").write_text("\n".join(tiny.features.files[1::2]) + "\nrock/missing.00009.wav\n")
    by_label(at.text_input, "Lists folder").set_value(str(lists)).run()
    assert not at.exception and not at.error
    assert "1 listed file not in these features, left out: rock/missing.00009.wav" in texts(at.warning)
    assert not button(at, "Start training").disabled


@pytest.mark.parametrize("kind, knobs, absent", [
    ("dense", ["Hidden layers (units)", "Dropout"], ["Filters per Conv2D block", "Units per LSTM layer"]),
    ("cnn", ["Filters per Conv2D block", "Dense units", "Dropout"], ["Hidden layers (units)", "Units per LSTM layer"]),
    ("lstm", ["Units per LSTM layer", "Dense units", "Dropout"], ["Hidden layers (units)", "Filters per Conv2D block"]),
])
def test_the_chosen_network_shows_its_own_knobs_and_they_reach_the_run(at, kind, knobs, absent):
    by_label(at.radio, "Network").set_value(kind).run()
    assert not at.exception and not at.error
    labels = {w.label for kind_ in ("text_input", "select_slider", "slider") for w in getattr(at, kind_)}
    assert set(knobs) <= labels and not set(absent) & labels
    by_label(at.select_slider, "L1").set_value(1e-4)
    by_label(at.checkbox, "Standardise inputs").check()
    by_label(at.number_input, "Epochs").set_value(1)
    at.run()
    assert by_label(at.text_input, "Run name").value.startswith(f"{kind}-track-")
    button(at, "Start training").click().run()
    run = open_run(workspace.runs_dir(), at.session_state["run_id"])
    mc = run.spec["model_config"]
    assert (mc["kind"], mc["l1"], mc["standardize"]) == (kind, 1e-4, True)
    run.request_stop()
    wait(run, timeout=120)


def test_augmentation_shows_the_training_rows_before_and_after_and_reaches_the_run(at, tiny, monkeypatch):
    from genre import plots
    from genre.learn.training import split_rows

    drawn, figure = [], plots.mfcc_figure
    monkeypatch.setattr(plots, "mfcc_figure", lambda mfcc, **kw: drawn.append(mfcc.shape) or figure(mfcc, **kw))

    assert "Training on" in texts(at.caption)  # no augmentation: the rows as they are
    by_label(at.slider, "Copies per training track").set_value(2).run()
    assert not at.exception and not at.error  # turned on, it starts from a sensible augmentation
    assert by_label(at.slider, "Pitch shift (± semitones)").value == 2.0
    assert by_label(at.checkbox, "Add noise").value and by_label(at.slider, "Noise SNR (dB)").value == 30
    for label in ("Pitch shift (± semitones)", "Time stretch (rate 1 ± …)", "Mask up to … coefficients",
                  "Mask up to … frames"):
        by_label(at.slider, label).set_value(0)
    by_label(at.checkbox, "Add noise").set_value(False).run()
    # copies with no transform would only repeat the rows: said in the words on screen, not the config's names
    assert "2 copies per training track but no transform" in texts(at.error)
    assert "Pitch shift (± semitones)" in texts(at.error) and "pitch_shift" not in texts(at.error)
    assert button(at, "Start training").disabled
    by_label(at.slider, "Mask up to … frames").set_value(4).run()  # masks only: quick to make
    assert not at.exception and not at.error
    train_rows = len(split_rows(tiny.features, TrainConfig()).train)
    note = texts(at.info)
    assert f"Training rows: **{train_rows:,}** → about **{3 * train_rows:,}**" in note and "never augmented" in note
    by_label(at.toggle, "Preview a copy").set_value(True).run()
    assert not at.exception and not at.error and len(at.image) == 2  # the original beside a copy
    assert drawn == [tiny.params.input_shape] * 2  # time-major (frames, n_mfcc), as mfcc_figure takes them
    by_label(at.number_input, "Epochs").set_value(1)
    button(at, "Start training").click().run()
    run = open_run(workspace.runs_dir(), at.session_state["run_id"])
    assert run.spec["train_config"]["augment_copies"] == 2 and run.spec["train_config"]["time_mask"] == 4
    assert wait(run, timeout=180)["state"] == "done", run.status()
    at.run()
    assert not at.exception and not at.error
    assert f"trained on {train_rows:,} rows + {2 * train_rows:,} augmented copies" in texts(at.caption)
    at2 = open_page("train", features=tiny.features, features_path=str(tiny.store)).run()  # now cached: exact
    assert f"Training rows: **{train_rows:,}** → **{3 * train_rows:,}**" in texts(at2.info)


def test_a_run_making_its_augmented_copies_says_so(home, tiny):
    run = create_run(workspace.runs_dir(), features_path=tiny.store, features=tiny.features,
                     model_config=ModelConfig(hidden_units=(8,)),
                     train_config=TrainConfig(epochs=1, augment_copies=1, time_mask=2), name="aug")
    run._update_status(state="pending", message="augmenting the tracks: 3 of 12 (cached for the next run)")
    at = open_page("train", run_id=run.id).run()
    assert not at.exception
    assert "Augmenting the tracks: 3 of 12" in texts(at.info)
