"""AppTest: the Runs page (table of runs and saved models, curves, deleting a model)."""

from __future__ import annotations

import pytest

from genre.data import workspace
from genre.learn.config import ModelConfig, TrainConfig
from tests.app_fixtures import TINY_MODEL, TINY_TRAIN, button, by_label, open_page


def test_without_runs_the_page_says_so(home):
    at = open_page("runs").run()
    assert not at.exception
    assert "No runs yet" in at.info[0].value
    assert not at.dataframe


def test_a_saved_model_without_a_run_record_is_listed(home, saved_bundle):
    at = open_page("runs").run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["run"]) == ["tiny"] and list(table["status"]) == ["saved model"]
    assert list(table["network"]) == ["dense 16"] and list(table["epochs"]) == [2]


def _run(tiny, name, *, execute_it=True, **model):
    from genre.jobs.execution import execute
    from genre.jobs.runs import create_run

    run = create_run(workspace.runs_dir(), features_path=tiny.store, features=tiny.features,
                     model_config=ModelConfig(**{**TINY_MODEL, **model}), train_config=TrainConfig(**TINY_TRAIN),
                     name=name, models_dir=workspace.models_dir())
    return execute(run) if execute_it else run


def test_runs_of_every_tab_and_the_cli_are_listed_settings_first(home, tiny):
    a, b = _run(tiny, "same"), _run(tiny, "same", dropout=0.5)
    pending = _run(tiny, "not started", execute_it=False)
    at = open_page("runs").run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["id"]) == [pending.id, b.id, a.id]  # newest first; same names stay two runs
    assert list(table["status"]) == ["pending", "done", "done"]
    assert list(table["dropout"]) == [0.3, 0.5, 0.3]
    assert list(table.columns[:3]) == ["run", "status", "dataset"]
    assert table["track acc"].notna().sum() == 2
    assert len({str(a.bundle_path), str(b.bundle_path)}) == 2


def test_compare_overlays_curves_and_highlights_differing_settings(home, tiny):
    a, b = _run(tiny, "a"), _run(tiny, "b", dropout=0.5)
    at = open_page("runs").run()
    compare = by_label(at.multiselect, "Runs")
    assert compare.value == [f"run:{b.path}", f"run:{a.path}"]
    assert len(at.image) == 1  # the overlaid curves
    diff = at.dataframe[1].value
    assert list(diff.columns) == ["run", "status", "dropout", "segment acc", "track acc", "epochs", "time (s)"]
    compare.set_value([f"run:{a.path}"]).run()
    assert not at.exception and len(at.dataframe) == 1 and len(at.image) == 1
    compare.set_value([]).run()
    assert not at.exception and not at.image


def test_compare_sees_the_network_kind_l1_standardisation_and_augmentation(home, tiny):
    from genre.jobs.runs import create_run

    plain = _run(tiny, "plain", execute_it=False)
    lab = create_run(workspace.runs_dir(), features_path=tiny.store, features=tiny.features,
                     model_config=ModelConfig(kind="lstm", l1=1e-4, standardize=True),
                     train_config=TrainConfig(**TINY_TRAIN, augment_copies=2, pitch_shift=2.0, time_mask=4),
                     name="lab", models_dir=workspace.models_dir())
    at = open_page("runs").run()
    by_label(at.multiselect, "Runs").set_value([f"run:{lab.path}", f"run:{plain.path}"]).run()
    assert not at.exception
    diff = at.dataframe[1].value
    assert {"network", "l1", "standardise", "augmentation"} <= set(diff.columns)
    assert list(diff["network"]) == ["lstm 64 units, dense 64", "dense 16"]
    assert list(diff["augmentation"]) == ["2× pitch ±2 st, mask 4 frames", "–"]


def test_an_imported_copy_of_a_runs_model_is_listed_as_a_model_of_its_own(home, tiny):
    import shutil

    run = _run(tiny, "original")
    shutil.copytree(run.bundle_path, workspace.models_dir() / "imported-copy")  # same run_id in its bundle.json
    at = open_page("runs").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["id"]) == [run.id, "imported-copy"]  # before: hidden, as if it were the run's own folder
    assert list(table["status"]) == ["done", "saved model"]


def test_delete_needs_the_confirmation_removes_record_and_bundle_and_resets_it(home, tiny):
    keep, doomed = _run(tiny, "keep"), _run(tiny, "doomed")
    doomed_bundle = doomed.bundle_path
    at = open_page("runs", bundle_path=str(doomed_bundle)).run()
    by_label(at.selectbox, "Run or saved model").set_value(f"run:{doomed.path}")
    assert button(at, "Delete").disabled
    by_label(at.checkbox, "Yes, delete it and its saved model").check().run()
    button(at, "Delete").click().run()
    assert not at.exception and not at.error
    assert not doomed.path.exists() and not doomed_bundle.exists()
    assert keep.path.exists() and keep.bundle_path.exists()
    assert at.session_state["bundle_path"] is None  # the deleted model is no longer the chosen one
    assert by_label(at.checkbox, "Yes, delete it and its saved model").value is False
    assert button(at, "Delete").disabled  # the next delete needs its own confirmation
    assert list(at.dataframe[0].value["id"]) == [keep.id]


def test_deleting_a_saved_model_without_record(home, saved_bundle):
    at = open_page("runs").run()
    by_label(at.checkbox, "Yes, delete it and its saved model").check().run()
    button(at, "Delete").click().run()
    assert not at.exception and not saved_bundle.exists()
    assert not list(saved_bundle.parent.iterdir())  # no trash folder left behind
    assert "No runs yet" in at.info[0].value


def test_accuracies_are_shown_in_percent_with_one_decimal(home, tiny):
    run = _run(tiny, "a")
    at = open_page("runs").run()
    table, config = at.dataframe[0].value, at.dataframe[0].proto.columns
    track = run.result()["metrics"]["track_accuracy"]
    assert list(table["track acc"]) == [pytest.approx(100 * track)]
    assert "%.1f%%" in config  # the column's format: one decimal for every run


def test_an_experiments_trials_are_listed_on_request_and_can_be_compared_and_deleted(home, tiny):
    """A trial is a run: listed under its experiment, compared, deleted like any run."""
    from genre.jobs.execution import execute
    from genre.jobs.runs import create_run
    from tests.test_app_experiments import fake_experiment

    exp = fake_experiment(tiny.root, {0.0: 0.6, 0.5: 0.7})
    trial = execute(create_run(exp.path / "runs", features_path=tiny.store, features=tiny.features,
                               model_config=ModelConfig(**TINY_MODEL), train_config=TrainConfig(**TINY_TRAIN),
                               name="dropout=0 seed=0", models_dir=exp.path / "models", source="experiment"))
    own = _run(tiny, "own")
    at = open_page("runs").run()
    listed = at.dataframe[0].value
    assert list(listed["run"]) == ["own"] and "experiment" not in listed.columns  # trials only on request
    by_label(at.multiselect, "Also list the trials of").set_value([exp.id]).run()
    assert not at.exception
    listed = at.dataframe[0].value
    assert list(listed["run"]) == ["own", "dropout=0 seed=0"]
    assert list(listed["experiment"]) == ["", f"dropout · {exp.id}"]
    by_label(at.multiselect, "Runs").set_value([f"run:{own.path}", f"run:{trial.path}"]).run()
    assert not at.exception and len(at.image) == 1
    by_label(at.selectbox, "Run or saved model").set_value(f"run:{trial.path}")
    at.checkbox(key="confirm_delete").check().run()
    button(at, "Delete").click().run()
    assert not at.exception and not trial.path.exists() and own.path.exists()
