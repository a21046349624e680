"""Tests for genre.learn.config: the notebook's defaults, one validation method per config, JSON round-trips."""

import dataclasses
import json

import pytest

from genre.data.params import FeatureParams
from genre.errors import GenreError, ParameterError
from genre.learn.config import ModelConfig, TrainConfig, run_name


def test_defaults_are_the_notebooks():
    p = FeatureParams()
    got = (p.sample_rate, p.duration, p.num_segments, p.n_mfcc, p.n_fft, p.hop_length)
    assert got == (22050, 30.0, 5, 13, 2048, 512)
    assert p.files_per_genre == -1
    m = ModelConfig()
    assert (m.hidden_units, m.dropout, m.l2, m.learning_rate) == ((512, 256, 64), 0.3, 0.001, 1e-4)
    assert TrainConfig().split == "track"


def test_notebook_defaults_give_the_notebooks_row_shape():
    # 22050*30 // 5 = 132300 samples per segment -> ceil(132300/512) = 259 frames of 13 MFCCs.
    p = FeatureParams()
    assert p.segment_samples == 132300
    assert p.input_shape == (259, 13)
    assert p.problems() == []


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        FeatureParams().n_mfcc = 20  # type: ignore[misc]


@pytest.mark.parametrize("changes, field", [
    ({"sample_rate": 999}, "sample_rate"),
    ({"sample_rate": 22050.0}, "sample_rate"),
    ({"sample_rate": True}, "sample_rate"),
    ({"duration": 0}, "duration"),
    ({"duration": -1.0}, "duration"),
    ({"duration": float("nan")}, "duration"),
    ({"duration": float("inf")}, "duration"),
    ({"duration": "30"}, "duration"),
    ({"num_segments": 0}, "num_segments"),
    ({"num_segments": 2.5}, "num_segments"),
    ({"n_fft": 8}, "n_fft"),
    ({"hop_length": 0}, "hop_length"),
    ({"n_fft": 512, "hop_length": 1024}, "hop_length"),
    ({"n_mfcc": 0}, "n_mfcc"),
    ({"n_mfcc": 129}, "n_mfcc"),
    ({"files_per_genre": 0}, "files_per_genre"),
    ({"files_per_genre": -2}, "files_per_genre"),
    ({"sample_rate": 1000, "duration": 0.001, "num_segments": 2}, "segment"),
])
def test_bad_feature_params_raise_parameter_error_naming_the_field(changes, field):
    with pytest.raises(ParameterError, match=field):
        FeatureParams(**changes).validate()


@pytest.mark.parametrize("changes, field", [
    ({"hidden_units": ()}, "hidden_units"),
    ({"hidden_units": (0,)}, "hidden_units"),
    ({"hidden_units": (8,) * 9}, "hidden_units"),
    ({"hidden_units": (32.0,)}, "hidden_units"),
    ({"dropout": 1.0}, "dropout"),
    ({"dropout": -0.1}, "dropout"),
    ({"l2": -1e-3}, "l2"),
    ({"learning_rate": 0}, "learning_rate"),
])
def test_bad_model_config_raises(changes, field):
    with pytest.raises(ParameterError, match=field):
        ModelConfig(**changes).validate()


@pytest.mark.parametrize("changes, field", [
    ({"epochs": 0}, "epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"test_size": 0}, "test_size"),
    ({"test_size": 1.0}, "test_size"),
    ({"split": "file"}, "split"),
    ({"seed": -1}, "seed"),
    ({"patience": 0}, "patience"),
    ({"val_size": 1.5}, "val_size"),
])
def test_bad_train_config_raises(changes, field):
    with pytest.raises(ParameterError, match=field):
        TrainConfig(**changes).validate()


def test_parameter_error_is_a_genre_error_and_a_value_error():
    with pytest.raises(GenreError):
        FeatureParams(n_mfcc=0).validate()
    assert issubclass(ParameterError, ValueError)


@pytest.mark.parametrize("config", [
    FeatureParams(sample_rate=8000, duration=3, num_segments=3, n_fft=512, hop_length=256, files_per_genre=2),
    ModelConfig(hidden_units=(32, 16), dropout=0.1),
    TrainConfig(epochs=3, split="segment", patience=2),
])
def test_json_round_trip(config):
    data = json.loads(json.dumps(config.to_dict()))
    assert type(config).from_dict(data) == config


def test_from_dict_ignores_unknown_keys_and_validates():
    assert FeatureParams.from_dict({"n_mfcc": 20, "future_key": 1}) == FeatureParams(n_mfcc=20)
    with pytest.raises(ParameterError, match="n_mfcc"):
        FeatureParams.from_dict({"n_mfcc": 0})
    with pytest.raises(ParameterError):
        FeatureParams.from_dict([1, 2])  # type: ignore[arg-type]


def test_replace_validates():
    assert FeatureParams().replace(n_mfcc=20).n_mfcc == 20
    with pytest.raises(ParameterError, match="hop_length"):
        FeatureParams().replace(hop_length=4096)


@pytest.mark.parametrize("sr, duration, segments, hop, dropped", [
    (8000, 3, 3, 256, False),  # 8000 samples / 256 = 31.25 -> 32 frames either way
    (8000, 3, 3, 250, True),  # 8000 = 32 * 250: librosa gives 33 frames, the notebook keeps 32
    (22050, 30, 5, 512, False),
    (22050, 30, 10, 441, True),  # 66150 = 150 * 441
])
def test_problems_explain_a_segment_length_that_is_a_multiple_of_the_hop(sr, duration, segments, hop, dropped):
    p = FeatureParams(sample_rate=sr, duration=duration, num_segments=segments, n_fft=1024, hop_length=hop)
    problems = p.problems()
    assert bool(problems) == dropped
    if dropped:
        assert "multiple of hop_length" in problems[0] and str(hop) in problems[0]


def test_cache_key_ignores_files_per_genre_but_not_feature_parameters():
    base = FeatureParams()
    assert base.cache_key() == base.replace(files_per_genre=3).cache_key()
    assert base.cache_key() != base.replace(n_mfcc=20).cache_key()


def test_new_parameters_at_their_defaults_leave_cache_keys_and_store_names_unchanged(tmp_path, monkeypatch):
    import hashlib
    import json

    from genre.data import workspace

    monkeypatch.setenv("GENRE_HOME", str(tmp_path))
    old = {"sample_rate": 22050, "duration": 30.0, "num_segments": 5, "n_mfcc": 13, "n_fft": 2048,
           "hop_length": 512, "files_per_genre": -1}  # FeatureParams.to_dict() before excerpt/exclude existed
    assert FeatureParams().identity() == old
    ident = json.dumps({"root": str(tmp_path.resolve()), **old}, sort_keys=True)
    assert workspace.features_path(tmp_path, FeatureParams()).stem == hashlib.sha256(ident.encode()).hexdigest()[:20]
    assert FeatureParams(excerpt="whole").cache_key() != FeatureParams().cache_key()
    assert FeatureParams(max_segments=7).cache_key() == FeatureParams().cache_key()  # only matters for "whole"


@pytest.mark.parametrize("changes, message", [
    ({"excerpt": "end"}, "excerpt must be one of start, middle, whole"),
    ({"max_segments": 0}, "max_segments must be an integer from 1"),
    ({"exclude": ["a"]}, "exclude must be a tuple"),
    ({"exclude": ("",)}, "exclude must be a tuple"),
])
def test_bad_excerpt_and_exclude_are_parameter_errors(changes, message):
    with pytest.raises(ParameterError, match=message):
        FeatureParams(**changes).validate()


def test_a_runs_default_name_says_its_network_split_and_backend():
    assert run_name(ModelConfig(), TrainConfig()) == "dense-track-tf"
    assert run_name(ModelConfig(kind="cnn"), TrainConfig(split="kfold", fold=2), "jax") == "cnn-kfold2of5-jax"


@pytest.mark.parametrize("model, train, tag", [
    ({"learning_rate": 1e-3}, {}, "lr0.001"),
    ({"hidden_units": (128, 32)}, {}, "units128x32"),
    ({"dropout": 0.5}, {}, "dropout0.5"),
    ({"l1": 1e-4}, {}, "l1_0.0001"),
    ({"l2": 0.0}, {}, "l2_0"),
    ({"standardize": True}, {}, "std"),
    ({"kind": "cnn", "filters": 16}, {}, "filters16"),
    ({}, {"epochs": 100}, "ep100"),
    ({}, {"batch_size": 64}, "bs64"),
    ({}, {"seed": 3}, "seed3"),
    ({}, {"patience": 5}, "early5"),
    ({}, {"augment_copies": 2, "pitch_shift": 2.0}, "aug2"),
])
def test_a_setting_that_differs_from_the_default_is_in_the_name(model, train, tag):
    name = run_name(ModelConfig(**model), TrainConfig(**train))
    assert tag in name.split("-")
    assert name != run_name(ModelConfig(kind=model.get("kind", "dense")), TrainConfig())


def test_runs_that_differ_only_in_backend_are_named_apart():
    mc, tc = ModelConfig(learning_rate=1e-3), TrainConfig()
    assert run_name(mc, tc, "tensorflow") != run_name(mc, tc, "jax")


def test_a_knob_of_another_network_is_not_in_the_name():
    assert run_name(ModelConfig(kind="dense", filters=16), TrainConfig()) == "dense-track-tf"


# --- the feature kinds (genre.data.params.FEATURE_KINDS) ---------------------------------------------------------

def test_musicnn_features_hear_16_khz_and_give_one_vector_per_segment():
    p = FeatureParams(features="musicnn").validate()
    assert p.sample_rate == 16000 and p.segment_samples == 16000 * 30 // 5
    assert p.input_shape == (200,) and FeatureParams(features="musicnn", layer="mean_pool").input_shape == (753,)
    assert FeatureParams.from_dict(p.to_dict()) == p
    assert "musicnn penultimate embeddings" in p.describe() and "MFCC" not in p.describe()
    assert FeatureParams().input_shape == (259, 13)  # MFCCs: frames x coefficients, as before


def test_musicnn_keeps_whole_segments_only_and_says_when_they_are_shorter_than_its_3_s():
    from genre.data.features import kept_segments

    p = FeatureParams(features="musicnn", duration=12.0, num_segments=4).validate()  # 3 s each
    assert p.problems() == []
    seg = p.segment_samples
    assert kept_segments(4 * seg, p) == [0, 1, 2, 3]
    assert kept_segments(3 * seg + seg // 2, p) == [0, 1, 2]  # a partial last segment is not a whole one
    short = FeatureParams(features="musicnn", duration=10.0, num_segments=5)
    assert "shorter than the 3 s musicnn listens to" in " ".join(short.problems())


def test_a_feature_kinds_cache_key_holds_what_it_reads_only():
    p = FeatureParams(features="musicnn")
    assert p.cache_key() == p.replace(n_mfcc=20, n_fft=1024, hop_length=256).cache_key()  # MFCC knobs: unused
    assert p.cache_key() != p.replace(layer="max_pool").cache_key()
    assert p.cache_key() != FeatureParams(sample_rate=16000).cache_key()
    assert "features" not in FeatureParams().identity() and "layer" not in FeatureParams().identity()


@pytest.mark.parametrize("changes, message", [
    ({"features": "chroma"}, "features must be one of mfcc, musicnn"),
    ({"features": "musicnn", "layer": "tags"}, "layer must be one of penultimate, mean_pool, max_pool"),
])
def test_bad_feature_kind_or_layer_is_a_parameter_error(changes, message):
    with pytest.raises(ParameterError, match=message):
        FeatureParams(**changes).validate()


def test_networks_that_read_time_are_refused_for_embeddings_with_the_reason():
    from genre.errors import TrainingError
    from genre.learn.config import check_features
    from genre.learn.model import kinds_for

    embeddings = FeatureParams(features="musicnn")
    for kind in ("cnn", "lstm"):
        with pytest.raises(TrainingError, match="no time axis: choose the dense network or logistic regression"):
            check_features(embeddings, ModelConfig(kind=kind))
        check_features(FeatureParams(), ModelConfig(kind=kind))  # MFCCs: fine
    check_features(embeddings, ModelConfig(kind="logistic"))
    assert kinds_for(embeddings.input_shape) == ["dense", "logistic"]
    with pytest.raises(TrainingError, match="augmentation is for MFCC features"):
        check_features(embeddings, train=TrainConfig(augment_copies=1, time_mask=4))


def test_a_run_on_embeddings_names_them():
    assert run_name(ModelConfig(kind="logistic"), TrainConfig(), "jax", FeatureParams(features="musicnn")) \
        == "logistic-musicnn-track-jax"
    assert run_name(ModelConfig(), TrainConfig(), "jax", FeatureParams()) == "dense-track-jax"
