"""AppTest: the Runs page (table of runs and saved models, curves, deleting a model)."""

from __future__ import annotations

from genre.config import ModelConfig, TrainConfig
from tests.app_fixtures import (  # noqa: F401
    TINY_MODEL, TINY_TRAIN, button, by_label, home, open_page, saved_bundle, tiny, tiny_bundle,
)


def test_without_runs_the_page_says_so(home):
    at = open_page("runs").run()
    assert not at.exception
    assert "No runs yet" in at.info[0].value
    assert not at.dataframe


def test_a_saved_model_is_listed_with_its_curves(home, saved_bundle):
    at = open_page("runs").run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["run"]) == ["tiny"] and list(table["status"]) == ["saved"]
    assert list(table["layers"]) == ["16"] and list(table["epochs"]) == [2]
    curves = by_label(at.multiselect, "Runs")
    assert curves.value == ["tiny"]
    assert len(at.image) == 1
    curves.set_value([]).run()
    assert not at.exception and not at.image


def test_a_run_of_this_tab_without_epochs_is_listed(home, tiny):
    from genre.jobs import TrainingJob

    job = TrainingJob(tiny.features, ModelConfig(**TINY_MODEL), TrainConfig(**TINY_TRAIN), name="not started")
    at = open_page("runs", runs=[job]).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["run"]) == ["not started"] and list(table["source"]) == ["this tab"]
    assert list(table["status"]) == ["pending"]


def test_delete_needs_the_checkbox_and_removes_the_bundle(home, saved_bundle):
    at = open_page("runs", bundle_path=str(saved_bundle)).run()
    assert by_label(at.selectbox, "Saved model").value == str(saved_bundle)
    assert button(at, "Delete").disabled
    by_label(at.checkbox, "Yes, delete it").check().run()
    button(at, "Delete").click().run()
    assert not at.exception and not at.error
    assert not saved_bundle.exists()
    assert not list(saved_bundle.parent.iterdir())  # no trash folder left behind
    assert at.session_state["bundle_path"] is None
    assert "No runs yet" in at.info[0].value
