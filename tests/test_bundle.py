"""Tests for genre.learn.bundle: saving, loading (safely), listing and deleting model bundles."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from genre.data.params import FeatureParams
from genre.errors import BundleError
from genre.learn.bundle import (
    INFO_FILE,
    MODEL_FILE,
    delete_bundle,
    list_bundles,
    load_bundle,
    reserve_bundle_path,
    save_bundle,
    slug,
)
from genre.learn.config import ModelConfig, TrainConfig


def _copy(bundle_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(bundle_dir, tmp_path / "copy"))


def _info(path: Path) -> dict:
    return json.loads((path / INFO_FILE).read_text())


def _write_info(path: Path, info: dict) -> None:
    (path / INFO_FILE).write_text(json.dumps(info))


class FakeModel:
    """Stands in for a Keras model where only ``save`` is used (no TensorFlow)."""

    def __init__(self, payload: bytes = b"model", fail: bool = False):
        self.payload, self.fail = payload, fail

    def save(self, path):
        Path(path).write_bytes(self.payload[:2])
        if self.fail:
            raise RuntimeError("crashed while saving")
        Path(path).write_bytes(self.payload)


def _fake_bundle(path: Path, *, created: str = "2024-01-01 00:00:00", genres=("a", "b"), model=None) -> Path:
    save_bundle(path, model=model or FakeModel(), genres=genres, params=FeatureParams(), model_config=ModelConfig(),
                train_config=TrainConfig(), metrics={}, history={})
    info = _info(path)
    info["created"] = created
    _write_info(path, info)
    return path


# --- round trip (TensorFlow) ------------------------------------------------------------------

def test_save_load_round_trip_predicts_the_same(trained, features):
    result, path = trained
    b = load_bundle(path)
    assert b.genres == features.genres
    assert b.params == features.params
    assert b.model_config.hidden_units == (32, 16)
    assert b.metrics["track_accuracy"] == pytest.approx(result.metrics["track_accuracy"])
    assert b.history == result.history
    np.testing.assert_allclose(b.model.predict(features.X, verbose=0), result.model.predict(features.X, verbose=0),
                               atol=1e-6)
    assert {p.name for p in path.iterdir()} == {MODEL_FILE, INFO_FILE}


def test_loading_without_the_model_reads_json_only(bundle_dir):
    b = load_bundle(bundle_dir, load_model=False)
    assert b.model is None and b.name == "tiny" and b.genres == ("blues", "metal", "rock")


def _drop_model(p: Path):
    (p / MODEL_FILE).unlink()


def _drop_info(p: Path):
    (p / INFO_FILE).unlink()


def _garbage_info(p: Path):
    (p / INFO_FILE).write_text("{not json")


def _garbage_model(p: Path):
    (p / MODEL_FILE).write_bytes(b"not a keras archive")


def _edit(**changes):
    def edit(p: Path):
        info = _info(p)
        for key, value in changes.items():
            if value is None:
                info.pop(key)
            else:
                info[key] = value
        _write_info(p, info)
    return edit


def _edit_params(**changes):
    def edit(p: Path):
        info = _info(p)
        info["feature_params"].update(changes)
        _write_info(p, info)
    return edit


@pytest.mark.parametrize("damage, message", [
    (_drop_model, "model.keras is missing"),
    (_drop_info, "bundle.json is missing"),
    (_garbage_info, "unreadable"),
    (_garbage_model, "cannot load"),
    (_edit(genres=None), "unreadable or incomplete"),
    (_edit(feature_params=None), "unreadable or incomplete"),
    (_edit(genres=["blues", "metal", "rock", "jazz"]), "predicts 3 genres"),
    (_edit(genres=["blues", "metal"]), "predicts 3 genres"),
    (_edit(genres=["blues"]), "at least two genres"),
    (_edit_params(n_mfcc=20), "takes"),
    (_edit_params(hop_length=128), "takes"),
    (_edit_params(n_mfcc=0), "unreadable or incomplete"),
], ids=["no-model", "no-json", "garbage-json", "garbage-model", "no-genres", "no-params", "more-genres",
        "fewer-genres", "one-genre", "other-n_mfcc", "other-hop", "invalid-params"])
def test_broken_bundles_raise_bundle_error(bundle_dir, tmp_path, damage, message):
    path = _copy(bundle_dir, tmp_path)
    damage(path)
    with pytest.raises(BundleError, match=message):
        load_bundle(path)


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: (p / "f").write_text("x") and p / "f"],
                         ids=["missing", "a-file"])
def test_a_missing_bundle_folder_raises_bundle_error(tmp_path, make):
    with pytest.raises(BundleError, match="not found"):
        load_bundle(make(tmp_path))


def test_loading_refuses_unsafe_lambda_layers(bundle_dir, tmp_path):
    from genre.learn.model import import_keras

    keras = import_keras()
    params = load_bundle(bundle_dir, load_model=False).params
    inputs = keras.Input(shape=params.input_shape)
    x = keras.layers.Lambda(lambda t: t * 2.0)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    path = _copy(bundle_dir, tmp_path)
    model.save(path / MODEL_FILE)
    assert keras.models.load_model(path / MODEL_FILE, safe_mode=False, compile=False) is not None
    with pytest.raises(BundleError, match="Lambda"):
        load_bundle(path)


# --- listing, replacing, deleting (no TensorFlow) --------------------------------------------------

def test_list_bundles_is_newest_first_and_ignores_junk(tmp_path):
    models = tmp_path / "models"
    _fake_bundle(models / "a-old", created="2024-01-01 10:00:00")
    _fake_bundle(models / "z-new", created="2024-03-01 10:00:00")
    _fake_bundle(models / "m-mid", created="2024-02-01 10:00:00")
    (models / "empty-folder").mkdir()
    (models / "broken").mkdir()
    (models / "broken" / INFO_FILE).write_text("{oops")
    _fake_bundle(models / ".hidden", created="2030-01-01 00:00:00")
    (models / "stray.txt").write_text("x")
    _fake_bundle(models / "one-genre", created="2029-01-01 00:00:00")
    info = _info(models / "one-genre")
    info["genres"] = ["a"]
    _write_info(models / "one-genre", info)
    assert [b.path.name for b in list_bundles(models)] == ["z-new", "m-mid", "a-old"]
    assert all(b.model is None for b in list_bundles(models))


def test_list_bundles_of_a_missing_folder_is_empty(tmp_path):
    assert list_bundles(tmp_path / "nothing") == []


def test_save_bundle_replaces_atomically(tmp_path):
    path = _fake_bundle(tmp_path / "run", genres=("a", "b"), model=FakeModel(b"first"))
    with pytest.raises(RuntimeError, match="crashed"):
        save_bundle(path, model=FakeModel(b"second", fail=True), genres=("x", "y"), params=FeatureParams(),
                    model_config=ModelConfig(), train_config=TrainConfig(), metrics={}, history={})
    assert (path / MODEL_FILE).read_bytes() == b"first"
    assert _info(path)["genres"] == ["a", "b"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    save_bundle(path, model=FakeModel(b"third"), genres=("x", "y"), params=FeatureParams(),
                model_config=ModelConfig(), train_config=TrainConfig(), metrics={"m": 1}, history={})
    assert (path / MODEL_FILE).read_bytes() == b"third"
    assert _info(path)["genres"] == ["x", "y"] and _info(path)["metrics"] == {"m": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_bundle_json_holds_everything_needed_to_predict(tmp_path):
    params = FeatureParams(n_mfcc=20, sample_rate=16000)
    save_bundle(tmp_path / "b", model=FakeModel(), genres=("a", "b"), params=params,
                model_config=ModelConfig(hidden_units=(8,)), train_config=TrainConfig(epochs=3),
                metrics={"track_accuracy": 0.5}, history={"loss": [1.0]}, extra={"dataset": "/data"})
    b = load_bundle(tmp_path / "b", load_model=False)
    assert b.params == params and b.model_config.hidden_units == (8,) and b.train_config.epochs == 3
    assert b.info["dataset"] == "/data" and b.info["format"] == 1


def test_delete_bundle_removes_it(tmp_path):
    path = _fake_bundle(tmp_path / "models" / "run")
    delete_bundle(path)
    assert list((tmp_path / "models").iterdir()) == []


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p],
                         ids=["missing", "a-folder-without-bundle-json"])
def test_delete_bundle_refuses_what_is_not_a_bundle(tmp_path, make):
    (tmp_path / "keep.txt").write_text("precious")
    with pytest.raises(BundleError, match="not a model bundle"):
        delete_bundle(make(tmp_path))
    assert (tmp_path / "keep.txt").read_text() == "precious"


@pytest.mark.parametrize("name, expected", [
    ("my run", "my-run"), ("../../etc/passwd", "etc-passwd"), ("  ", "model"), ("a/b\\c", "a-b-c"),
    ("ok_name-1.2", "ok_name-1.2"), ("." * 5, "model"), ("x" * 200, "x" * 80),
])
def test_slug_makes_safe_folder_names(name, expected):
    assert slug(name) == expected


def test_reserve_bundle_path_never_reuses_a_folder(tmp_path):
    first = reserve_bundle_path(tmp_path, "run")  # made, not merely named: the reservation
    second = reserve_bundle_path(tmp_path, "run")
    assert first.is_dir() and second.is_dir()
    assert (first.name, second.name, reserve_bundle_path(tmp_path, "run").name) == ("run", "run-2", "run-3")


def test_a_bundle_folder_and_its_files_follow_the_umask(tmp_path, umask):
    umask(0o022)
    path = _fake_bundle(tmp_path / "models" / "run")
    assert path.stat().st_mode & 0o777 == 0o755
    assert {p.name: p.stat().st_mode & 0o777 for p in path.iterdir()} == {MODEL_FILE: 0o644, INFO_FILE: 0o644}
