"""AppTest: a session that opens any page first (a reload, a new tab, a bookmark, a restart) sees the
workspace the user set up in another session: the dataset, its left-out folders, the current
features, the chosen model and the latest run."""

from __future__ import annotations

import json
import shutil

import pytest

from genre.data import workspace
from genre.jobs.execution import execute
from genre.jobs.runs import create_run
from genre.learn.config import ModelConfig, TrainConfig
from tests.app_fixtures import TINY_PARAMS, button, by_label, open_page, texts


@pytest.fixture
def with_unlabelled(dataset_copy):
    """The tiny dataset plus a folder that is not a genre."""
    (dataset_copy / "unlabelled").mkdir()
    for i in range(3):
        shutil.copy(dataset_copy / "rock" / "rock.00000.wav", dataset_copy / "unlabelled" / f"x{i}.wav")
    return dataset_copy


def set_up(root, *, extract: bool = False):
    """What a user does in one session: choose the folder, leave out ``unlabelled``, the tiny features."""
    at = open_page("dataset", dataset_root=str(root)).run()
    by_label(at.multiselect, "Leave out folders").set_value(["unlabelled"]).run()
    assert list(at.dataframe[0].value["genre"]) == ["ambient", "chiptune", "rock"]
    at.switch_page("pages/features.py").run()
    for key, value in (("sr", TINY_PARAMS["sample_rate"]), ("duration", 4), ("segments", 2), ("n_fft", 512),
                       ("hop", 256)):
        _widget(at, key).set_value(value).run()
    if extract:
        button(at, "Extract features").click().run()
        assert not at.exception and "Extracted 24 rows" in texts(at.success)
    return at


def _widget(at, key):
    for kind in (at.slider, at.select_slider, at.selectbox, at.number_input):
        for w in kind:
            if w.key == key:
                return w
    raise KeyError(key)


def strip(at) -> str:
    return texts(at.caption)


def test_left_out_folders_hold_in_a_new_session_opened_on_features(home, with_unlabelled):
    set_up(with_unlabelled)
    fresh = open_page("features").run()  # no state injected: a reload or a new tab
    assert not fresh.exception and not fresh.error
    clips = fresh.selectbox[0].options
    assert clips and not [c for c in clips if c.startswith("unlabelled/")]
    rows = next(m for m in fresh.metric if m.label.startswith("Training rows"))
    assert rows.value == "24"  # 3 genres x 4 clips x 2 segments; with unlabelled it would be 30


def test_features_extracted_in_one_session_are_current_in_a_new_session_on_train(home, with_unlabelled):
    set_up(with_unlabelled, extract=True)
    fresh = open_page("train").run()
    assert not fresh.exception
    assert "**Features** · 24 rows of 63×13" in strip(fresh)
    assert "Extract features first" not in texts(fresh.info)
    assert not button(fresh, "Start training").disabled


def test_the_experiments_page_opened_first_leaves_the_folders_out(home, with_unlabelled):
    set_up(with_unlabelled)
    fresh = open_page("experiments").run()
    assert not fresh.exception
    captions = strip(fresh)
    assert "3 genres, 12 tracks" in captions and "without unlabelled" in captions


def test_a_typo_in_the_folder_does_not_clear_its_left_out_folders(home, with_unlabelled, tmp_path):
    at = set_up(with_unlabelled)
    at.switch_page("pages/dataset.py").run()
    at.text_input(key="dataset_input").set_value(str(tmp_path / "no-such-folder")).run()
    assert at.error
    at.text_input(key="dataset_input").set_value(str(with_unlabelled)).run()
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["genre"]) == ["ambient", "chiptune", "rock"]
    saved = json.loads((home / "settings.json").read_text())
    assert saved["exclude_by_dataset"][str(with_unlabelled)] == ["unlabelled"]


def test_left_out_folders_are_remembered_per_dataset_folder(home, with_unlabelled, tiny):
    at = set_up(with_unlabelled)
    at.switch_page("pages/dataset.py").run()
    at.text_input(key="dataset_input").set_value(str(tiny.root)).run()  # another dataset: nothing left out
    assert list(at.dataframe[0].value["genre"]) == ["ambient", "chiptune", "rock"]
    at.text_input(key="dataset_input").set_value(str(with_unlabelled)).run()
    assert not at.exception
    assert list(at.dataframe[0].value["genre"]) == ["ambient", "chiptune", "rock"]  # still without unlabelled


def test_an_old_settings_file_with_one_list_of_left_out_folders_still_counts(home, with_unlabelled):
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text(json.dumps({"dataset_root": str(with_unlabelled), "exclude": ["unlabelled"]}))
    fresh = open_page("dataset").run()
    assert not fresh.exception
    assert list(fresh.dataframe[0].value["genre"]) == ["ambient", "chiptune", "rock"]


def finished_run(tiny, *, source="app"):
    run = create_run(workspace.runs_dir(), features_path=tiny.store, features=tiny.features,
                     model_config=ModelConfig(hidden_units=(8,)), train_config=TrainConfig(epochs=1),
                     name="tiny-done", models_dir=workspace.models_dir(), source=source)
    return run


@pytest.mark.parametrize("page", ["home", "features", "runs"])
def test_the_status_strip_names_the_latest_run_in_a_new_session(home, tiny, page):
    run = finished_run(tiny)
    execute(run)
    fresh = open_page(page, dataset_root=str(tiny.root)).run()
    assert not fresh.exception
    assert "none yet" not in strip(fresh)
    assert "**Training** · last run done" in strip(fresh)


def test_a_reloaded_tab_takes_the_model_of_the_run_it_started(home, tiny):
    """Start in one session, reload (a new session on ?run=), the run finishes: its model is chosen."""
    run = finished_run(tiny)
    run.offer_model()  # as the Train page does when it starts a run
    execute(run)
    fresh = open_page("train", dataset_root=str(tiny.root))
    fresh.query_params["run"] = run.id
    fresh.run()
    assert not fresh.exception
    assert fresh.session_state["bundle_path"] == str(run.bundle_path)
    again = open_page("train", dataset_root=str(tiny.root))  # once only: a later choice is not overridden
    again.session_state["bundle_path"] = None
    again.query_params["run"] = run.id
    again.run()
    assert again.session_state["bundle_path"] is None
