"""AppTest: the Train page (controls, their checks, a run in a thread, Stop, results)."""

from __future__ import annotations

import pytest

from genre import workspace
from genre.config import FeatureParams, ModelConfig, TrainConfig
from genre.training import SEGMENT_SPLIT_NOTE
from tests.app_fixtures import TINY_PARAMS, button, by_label, home, open_page, texts, tiny  # noqa: F401

CONTROLS = ["Hidden layers (units)", "Run name"]


@pytest.fixture
def at(home, tiny):
    """The Train page with the tiny features in session state, after its first run."""
    return open_page("train", features=tiny.features).run()


@pytest.fixture
def running_job(home, tiny):
    """A run long enough to still be going while the test looks at it; stopped at teardown."""
    from genre.jobs import TrainingJob

    job = TrainingJob(tiny.features, ModelConfig(hidden_units=(16,)), TrainConfig(epochs=10000), name="long",
                      models_dir=workspace.models_dir()).start()
    yield job
    job.stop()
    job.join(timeout=60)


def test_without_features_the_page_says_so(home):
    at = open_page("train").run()
    assert not at.exception
    assert "Extract features first" in at.info[0].value
    assert not at.text_input


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
    from genre.demo import make_demo_dataset
    from genre.extract import extract_to_store

    root = make_demo_dataset(tmp_path / "one", genres=1, clips_per_genre=4, duration=4.0, sample_rate=8000)
    params = FeatureParams(**TINY_PARAMS)
    fs, _ = extract_to_store(root, params, workspace.features_path(root, params))
    at = open_page("train", features=fs).run()
    assert not at.exception
    assert "at least two genres" in texts(at.error)
    assert button(at, "Start training").disabled


def test_a_tiny_run_trains_in_the_background_and_shows_its_results(at):
    by_label(at.text_input, "Hidden layers (units)").set_value("16")
    by_label(at.number_input, "Epochs").set_value(2)
    button(at, "Start training").click().run()
    assert not at.exception
    job = at.session_state["job"]
    assert at.session_state["runs"] == [job]
    assert job.train_config.epochs == 2 and job.model_config.hidden_units == (16,)
    job.join(timeout=120)
    assert job.status == "done", job.error
    at.run()
    assert not at.exception and not at.error
    labels = [m.label for m in at.metric]
    assert "Segment accuracy (test)" in labels and "Track accuracy (test, vote)" in labels
    assert "Saved as model bundle" in at.success[0].value
    assert (job.bundle_path / "bundle.json").is_file() and job.bundle_path.parent == workspace.models_dir()
    assert not button(at, "Start training").disabled  # ready for another run


def test_a_running_job_shows_stop_and_locks_the_controls(home, tiny, running_job):
    at = open_page("train", features=tiny.features, job=running_job, runs=[running_job]).run()
    assert not at.exception
    assert running_job.running
    assert not button(at, "Stop").disabled
    assert not [b for b in at.button if b.label == "Start training"]
    assert all(by_label(at.text_input, label).disabled for label in CONTROLS)
    assert by_label(at.number_input, "Epochs").disabled and by_label(at.radio, "Split").disabled
    button(at, "Stop").click().run()
    assert not at.exception
    assert running_job.stop_event.is_set()
    running_job.join(timeout=60)
    assert running_job.status == "stopped", running_job.error
    at.run()
    assert "Stopped on request" in texts(at.info)
    assert "Saved as model bundle" in at.success[0].value
