"""AppTest: settings that stick (workbench/settings.py) on the Features and Train pages."""

from __future__ import annotations

import json

import pytest

from tests.app_fixtures import by_label, open_page, texts


def test_features_settings_survive_a_visit_to_another_page(home, tiny):
    at = open_page("features", dataset_root=str(tiny.root)).run()
    at.slider(key="n_mfcc").set_value(20).run()
    at.select_slider(key="n_fft").set_value(1024).run()
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/features.py").run()
    assert not at.exception
    assert at.slider(key="n_mfcc").value == 20 and at.select_slider(key="n_fft").value == 1024


def test_train_settings_survive_a_visit_to_another_page(home, tiny):
    at = open_page("train", features=tiny.features, features_path=str(tiny.store)).run()
    by_label(at.text_input, "Hidden layers (units)").set_value("64, 32").run()
    by_label(at.slider, "Dropout").set_value(0.5).run()
    by_label(at.radio, "Backend").set_value("jax").run()
    at.switch_page("pages/features.py").run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert by_label(at.text_input, "Hidden layers (units)").value == "64, 32"
    assert by_label(at.slider, "Dropout").value == 0.5 and by_label(at.radio, "Backend").value == "jax"


def test_a_new_session_starts_from_the_last_settings_chosen(home, tiny):
    """A reload on another page, or an app restart: the URL has no settings, the workspace does."""
    first = open_page("features", dataset_root=str(tiny.root)).run()
    first.slider(key="segments").set_value(10).run()
    saved = json.loads((home / "settings.json").read_text())
    assert saved["segments"] == 10
    again = open_page("features", dataset_root=str(tiny.root)).run()
    assert again.slider(key="segments").value == 10
    assert again.slider(key="n_mfcc").value == 13  # untouched settings keep their defaults


def test_settings_in_the_url_win(home, tiny):
    (home / "settings.json").parent.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text(json.dumps({"n_mfcc": 30}))
    at = open_page("features", dataset_root=str(tiny.root))
    at.query_params["n_mfcc"] = "20"
    at.run()
    assert not at.exception
    assert at.slider(key="n_mfcc").value == 20


def test_bad_saved_settings_fall_back_to_the_defaults(home, tiny):
    (home / "settings.json").parent.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text(json.dumps({"n_mfcc": "many", "n_fft": 1000, "dropout": 7, "layers": 5}))
    at = open_page("train", features=tiny.features, features_path=str(tiny.store), dataset_root=str(tiny.root)).run()
    assert not at.exception
    assert by_label(at.slider, "Dropout").value == 0.3
    assert by_label(at.text_input, "Hidden layers (units)").value == "512, 256, 64"
    at.switch_page("pages/features.py").run()
    assert not at.exception
    assert at.slider(key="n_mfcc").value == 13 and at.select_slider(key="n_fft").value == 2048


def test_extract_says_when_the_settings_differ_from_the_current_features(home, tiny):
    at = open_page("features", dataset_root=str(tiny.root), features=tiny.features,
                   features_path=str(tiny.store)).run()
    assert "differ from the current features" in texts(at.warning)  # tiny features are not the defaults
    for key, value in tiny.params.to_dict().items():
        if key in ("excerpt", "max_segments", "exclude", "features", "layer"):
            continue  # left at their defaults
        widget = {"sample_rate": ("selectbox", "sr"), "duration": ("slider", "duration"),
                  "num_segments": ("slider", "segments"), "n_mfcc": ("slider", "n_mfcc"),
                  "n_fft": ("select_slider", "n_fft"), "hop_length": ("select_slider", "hop"),
                  "files_per_genre": ("number_input", "files")}[key]
        getattr(at, widget[0])(key=widget[1]).set_value(int(value))
    at.run()
    assert not at.exception
    assert "differ from the current features" not in texts(at.warning)


def test_the_dataset_folder_and_the_chosen_model_outlive_the_session(home, tiny, saved_bundle):
    at = open_page("dataset", dataset_root="/nowhere").run()
    at.text_input(key="dataset_input").set_value(str(tiny.root)).run()
    at.switch_page("pages/classify.py").run()
    assert not at.exception
    assert at.session_state["bundle_path"] == str(saved_bundle)
    fresh = open_page("classify").run()  # a reload: a new session
    assert not fresh.exception
    assert fresh.session_state["dataset_root"] == str(tiny.root)
    assert fresh.session_state["bundle_path"] == str(saved_bundle)


def test_after_a_reload_the_features_the_settings_name_come_back_from_the_cache(home, tiny):
    from genre.data import workspace
    from genre.data.extract import extract_to_store

    first = open_page("dataset", dataset_root="/nowhere").run()
    first.text_input(key="dataset_input").set_value(str(tiny.root)).run()  # as a user chooses the folder
    first.switch_page("pages/features.py").run()
    keys = {"sr": ("selectbox", 8000), "duration": ("slider", 4), "segments": ("slider", 2),
            "n_fft": ("select_slider", 512), "hop": ("select_slider", 256)}
    for key, (kind, value) in keys.items():
        getattr(first, kind)(key=key).set_value(value)
    first.run()
    assert "features" not in first.session_state or first.session_state["features"] is None  # nothing to bring back yet
    extract_to_store(tiny.root, tiny.params, workspace.features_path(tiny.root, tiny.params))
    fresh = open_page("train").run()  # a reload: a new session with no state but the workspace's
    assert not fresh.exception
    assert fresh.session_state["features"] is not None and len(fresh.session_state["features"]) == len(tiny.features)
    assert "Features: 24 rows" in texts(fresh.caption)
    assert not [b for b in fresh.button if b.label == "Start training"][0].disabled


# Choices drawn with labels: the URL holds their values (?backend=jax), and links made when it held labels still work.
LABELLED = [("train", "Backend", "backend", "jax", "JAX (often 2-3x faster per epoch on a CPU)"),
            ("train", "Network", "kind", "cnn", "CNN"),
            ("train", "Split", "split", "kfold", "k-fold by track"),
            ("features", "Where the segments come from", "excerpt", "middle", "Middle")]


@pytest.mark.parametrize("page, label, key, value, old", LABELLED)
def test_the_url_holds_a_choices_value_not_its_label(home, tiny, page, label, key, value, old):
    at = open_page(page, dataset_root=str(tiny.root), features=tiny.features, features_path=str(tiny.store)).run()
    by_label(at.radio, label).set_value(value).run()
    assert not at.exception
    assert at.query_params[key] in (value, [value])


@pytest.mark.parametrize("page, label, key, value, old", LABELLED)
@pytest.mark.parametrize("linked", ["value", "old label"])
def test_a_link_with_a_choices_value_or_its_old_label_chooses_it(home, tiny, page, label, key, value, old, linked):
    at = open_page(page, dataset_root=str(tiny.root), features=tiny.features, features_path=str(tiny.store))
    at.query_params[key] = value if linked == "value" else old
    at.run()
    assert not at.exception
    assert by_label(at.radio, label).value == value


def test_on_a_shared_server_one_visitors_settings_never_seed_anothers(home, tiny, monkeypatch):
    monkeypatch.setenv("GENRE_SHARED", "1")
    first = open_page("features", dataset_root=str(tiny.root)).run()
    first.slider(key="segments").set_value(10).run()
    first.switch_page("pages/train.py").run()
    first.switch_page("pages/features.py").run()
    assert first.slider(key="segments").value == 10  # this visitor keeps it
    assert not (home / "settings.json").exists()
    other = open_page("features", dataset_root=str(tiny.root)).run()  # the next visitor
    assert other.slider(key="segments").value == 5
