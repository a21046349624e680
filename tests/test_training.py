"""Tests for genre.learn.training: honest splits, reproducible runs, epoch hooks, stopping, track votes.

Split and scoring tests need no TensorFlow; the few that train use a tiny network for 1-3 epochs.
"""

import threading
from dataclasses import replace

import numpy as np
import pytest
from conftest import TINY_MODEL

from genre.data.store import FeatureSet
from genre.errors import TrainingError
from genre.learn.config import ModelConfig, TrainConfig
from genre.learn.evaluate import score, track_votes
from genre.learn.training import check_trainable, split_rows, train

TINY = ModelConfig(**TINY_MODEL)


def _tracks(fs: FeatureSet, rows: np.ndarray) -> set[int]:
    return set(fs.track[rows].tolist())


def _subset(fs: FeatureSet, keep: np.ndarray) -> FeatureSet:
    return replace(fs, X=fs.X[keep], y=fs.y[keep], track=fs.track[keep], segment=fs.segment[keep])


# --- splits ----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("test_size", [0.25, 0.3, 0.5])
def test_track_split_never_puts_a_track_on_both_sides(features, seed, test_size):
    split = split_rows(features, TrainConfig(seed=seed, test_size=test_size))
    assert _tracks(features, split.train).isdisjoint(_tracks(features, split.test))
    assert sorted(np.concatenate([split.train, split.test]).tolist()) == list(range(len(features)))
    assert split.val is None


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_track_split_is_stratified_by_genre(features, seed):
    split = split_rows(features, TrainConfig(seed=seed, test_size=0.5))
    assert split.stratified
    test_tracks = sorted(_tracks(features, split.test))
    genres_of = {t: int(features.y[features.track == t][0]) for t in range(len(features.files))}
    per_genre = np.bincount([genres_of[t] for t in test_tracks], minlength=3)
    assert per_genre.tolist() == [2, 2, 2]  # half of each genre's 4 tracks


def test_segment_split_mixes_tracks_like_the_notebook(features):
    split = split_rows(features, TrainConfig(split="segment", seed=0))
    assert _tracks(features, split.train) & _tracks(features, split.test)
    assert len(split.test) == int(np.ceil(0.3 * len(features)))  # rows, not tracks, are split


def test_different_split_seeds_give_different_splits(features):
    a = split_rows(features, TrainConfig(seed=0))
    b = split_rows(features, TrainConfig(seed=1))
    assert _tracks(features, a.test) != _tracks(features, b.test)
    again = split_rows(features, TrainConfig(seed=0))
    np.testing.assert_array_equal(a.test, again.test)


@pytest.mark.parametrize("split_by", ["track", "segment"])
def test_patience_carves_validation_from_training_tracks(features, split_by):
    split = split_rows(features, TrainConfig(patience=2, val_size=0.25, split=split_by))
    assert split.val is not None and len(split.val) > 0
    sides = [set(split.train.tolist()), set(split.val.tolist()), set(split.test.tolist())]
    assert sides[0].isdisjoint(sides[1]) and sides[1].isdisjoint(sides[2]) and sides[0].isdisjoint(sides[2])
    assert set().union(*sides) == set(range(len(features)))
    if split_by == "track":
        assert _tracks(features, split.val).isdisjoint(_tracks(features, split.test))
        assert _tracks(features, split.val).isdisjoint(_tracks(features, split.train))
    assert split.validation_name.startswith("held-out part of the training")
    without = split_rows(features, TrainConfig(split=split_by))
    np.testing.assert_array_equal(np.sort(split.test), np.sort(without.test))  # test side is unchanged


def _genre_of(fs, tracks):
    return {int(fs.y[fs.track == t][0]) for t in tracks}


def test_one_small_genre_does_not_turn_stratification_off_for_the_others(features):
    keep = np.isin(features.track, [0, 1, 2, 3, 4, 8, 9, 10, 11])  # 4 blues, 1 metal, 4 rock tracks
    fs = _subset(features, keep)
    split = split_rows(fs, TrainConfig(test_size=0.3))
    assert split.untested == (1,) and split.stratified is False  # metal's one track can only train
    test_tracks = _tracks(fs, split.test)
    assert _genre_of(fs, test_tracks) == {0, 2}  # blues and rock are both tested
    assert [len([t for t in test_tracks if _genre_of(fs, [t]) == {g}]) for g in (0, 2)] == [2, 2]  # ceil(0.3*4)
    assert 4 in _tracks(fs, split.train)
    assert _tracks(fs, split.train).isdisjoint(test_tracks)


def test_a_test_size_too_large_to_stratify_globally_still_keeps_a_training_track_per_genre(features):
    split = split_rows(features, TrainConfig(test_size=0.9))  # 11 of 12 held out would leave 1 training track
    assert split.stratified
    assert _genre_of(features, _tracks(features, split.train)) == {0, 1, 2}
    assert _genre_of(features, _tracks(features, split.test)) == {0, 1, 2}


def test_precision_and_recall_of_a_genre_without_test_tracks_are_undefined_not_zero():
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]])
    m = score(probs, np.array([0, 1]), np.array([0, 1]), ("a", "b", "c"))
    assert m["per_genre"]["c"] == {"precision": None, "recall": None, "f1": None, "support": 0}
    assert m["per_genre"]["a"]["recall"] == 1.0


def _one_genre(fs):
    return _subset(fs, fs.y == 0)


def _no_tracks(fs):
    return replace(fs, track=np.full(len(fs), -1, np.int32))


def _three_tracks(fs):
    return _subset(fs, np.isin(fs.track, [0, 4, 8]))


def _no_rows(fs):
    return _subset(fs, np.zeros(len(fs), bool))


@pytest.mark.parametrize("make, config, message", [
    (_one_genre, TrainConfig(), "at least two genres"),
    (_one_genre, TrainConfig(split="segment"), "at least two genres"),
    (_no_tracks, TrainConfig(), "do not record which track"),
    (_three_tracks, TrainConfig(), "at least 4 tracks"),
    (_no_rows, TrainConfig(), "no rows"),
    (lambda fs: _subset(fs, np.isin(np.arange(len(fs)), [0, 13, 26])), TrainConfig(split="segment"), "at least 4 rows"),
], ids=["one-genre", "one-genre-segment-split", "json-without-tracks", "three-tracks", "no-rows", "three-rows"])
def test_untrainable_features_raise_training_error(features, make, config, message):
    fs = make(features)
    with pytest.raises(TrainingError, match=message):
        check_trainable(fs, config)
    with pytest.raises(TrainingError, match=message):
        train(fs, TINY, replace(config, epochs=1))  # fails before TensorFlow is needed


def test_json_import_without_tracks_trains_with_the_segment_split(features, tmp_path):
    import json

    from genre.data.store import export_json, import_json

    path = export_json(features, tmp_path / "d.json")
    data = json.loads(path.read_text())
    path.write_text(json.dumps({k: data[k] for k in ("mapping", "mfcc", "labels")}))
    fs = import_json(path)
    assert not fs.has_tracks
    split = split_rows(fs, TrainConfig(split="segment"))
    assert len(split.train) + len(split.test) == 36


# --- scoring ---------------------------------------------------------------------------------

def test_track_votes_average_probabilities():
    probs = np.array([[0.6, 0.4], [0.6, 0.4], [0.0, 1.0], [0.2, 0.8]])
    tracks, mean = track_votes(probs, np.array([7, 7, 7, 3]))
    assert tracks.tolist() == [3, 7]
    np.testing.assert_allclose(mean, [[0.2, 0.8], [0.4, 0.6]])


def test_track_accuracy_is_a_mean_probability_vote_not_a_segment_majority():
    genres = ("blues", "metal", "rock")
    # track 0 (metal): two segments lean blues, one is sure of metal -> segment majority: blues,
    # mean probability: metal (0.37, 0.63, 0). Tracks 1 (blues) and 2 (rock) are plain.
    probs = np.array([
        [0.55, 0.45, 0.0], [0.55, 0.45, 0.0], [0.0, 1.0, 0.0],
        [0.9, 0.05, 0.05], [0.7, 0.2, 0.1],
        [0.1, 0.1, 0.8], [0.2, 0.1, 0.7],
    ])
    y = np.array([1, 1, 1, 0, 0, 2, 2])
    track = np.array([0, 0, 0, 1, 1, 2, 2])
    m = score(probs, y, track, genres)
    assert m["track_accuracy"] == 1.0  # a segment majority would give 2/3
    assert m["confusion"] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]  # majority: [[1,0,0],[1,0,0],[0,0,1]]
    assert m["segment_accuracy"] == pytest.approx(5 / 7)
    assert m["n_tracks"] == 3 and m["n_segments"] == 7
    assert m["confusion_segments"] == [[2, 0, 0], [2, 1, 0], [0, 0, 2]]
    assert set(m["per_genre"]) == set(genres)
    assert m["per_genre"]["metal"]["support"] == 1 and m["per_genre"]["metal"]["recall"] == 1.0


def test_track_labels_come_from_each_tracks_rows_whatever_the_row_order():
    probs = np.array([[0.2, 0.8], [0.9, 0.1], [0.3, 0.7], [0.8, 0.2]])
    m = score(probs, np.array([1, 0, 1, 0]), np.array([5, 2, 5, 2]), ("a", "b"))
    assert m["track_accuracy"] == 1.0 and m["confusion"] == [[1, 0], [0, 1]]


def test_confusion_has_every_genre_even_when_absent_from_the_test_set():
    probs = np.array([[0.9, 0.05, 0.05, 0.0], [0.1, 0.8, 0.1, 0.0]])
    m = score(probs, np.array([0, 1]), np.array([0, 1]), ("a", "b", "c", "d"))
    assert np.array(m["confusion"]).shape == (4, 4)
    assert m["track_accuracy"] == 1.0


# --- training (TensorFlow, tiny) ------------------------------------------------------------

def test_same_seed_twice_gives_identical_history_and_metrics(features):
    calls = []
    config = TrainConfig(epochs=2, batch_size=8, seed=3)
    a = train(features, TINY, config, on_epoch=lambda e, logs: calls.append((e, sorted(logs))))
    b = train(features, TINY, config)
    assert a.history.keys() == b.history.keys() >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key in a.history:
        assert np.allclose(a.history[key], b.history[key]), key
    np.testing.assert_array_equal(a.split.test, b.split.test)
    assert a.metrics["track_accuracy"] == b.metrics["track_accuracy"]
    assert a.metrics["confusion"] == b.metrics["confusion"]
    # on_epoch: once per epoch, 1-based, with Keras' logs
    assert [e for e, _ in calls] == [1, 2]
    assert all({"loss", "accuracy", "val_loss", "val_accuracy"} <= set(keys) for _, keys in calls)
    assert a.stopped is False and a.metrics["epochs_run"] == 2
    c = train(features, TINY, replace(config, seed=4))
    assert not np.array_equal(np.sort(c.split.test), np.sort(a.split.test))
    assert not np.allclose(c.history["loss"], a.history["loss"])


def test_setting_stop_in_on_epoch_ends_training_early(features):
    stop = threading.Event()
    epochs = []

    def on_epoch(epoch, logs):
        epochs.append(epoch)
        if epoch == 1:
            stop.set()

    result = train(features, TINY, TrainConfig(epochs=20, batch_size=8), on_epoch=on_epoch, stop=stop)
    assert epochs == [1]
    assert result.stopped is True
    assert len(result.history["loss"]) == 1 and result.metrics["epochs_run"] == 1
    assert result.metrics["n_tracks"] == len(np.unique(features.track[result.split.test]))


def test_trained_result_scores_the_held_out_tracks(trained, features):
    result, _ = trained
    m = result.metrics
    assert m["split"] == "track" and m["validation"] == "the test split"
    assert m["n_segments"] == len(result.split.test)
    assert m["n_tracks"] == len(_tracks(features, result.split.test))
    assert m["n_train_segments"] == len(result.split.train)
    assert np.array(m["confusion"]).shape == (3, 3) and np.sum(m["confusion"]) == m["n_tracks"]
    assert result.model.output_shape == (None, 3)
    assert result.seconds > 0


# --- splits that leave nothing to learn from --------------------------------------------------

@pytest.mark.parametrize("config, message", [
    (TrainConfig(test_size=0.95), r"test_size=0\.95 holds out all 12 tracks.*smaller test_size"),
    (TrainConfig(test_size=0.99, split="segment"), r"test_size=0\.99 holds out all 36 rows"),
    (TrainConfig(test_size=0.9, patience=3), r"early stopping needs validation tracks.*no genre has two training"),
    (TrainConfig(test_size=0.8, patience=3, val_size=0.5), r"early stopping needs validation tracks"),
], ids=["test-takes-all", "test-takes-all-rows", "validation-takes-the-last-tracks", "validation-leaves-nothing"])
def test_splits_that_leave_nothing_to_train_on_are_training_errors(features, config, message):
    with pytest.raises(TrainingError, match=message):
        split_rows(features, config)


def test_standardisation_is_fitted_on_the_training_rows_only_and_travels_with_the_bundle(features, tmp_path):
    from genre.learn.bundle import load_bundle, save_bundle
    from genre.learn.model import fit_standardization

    mc, tc = ModelConfig(hidden_units=(16,), standardize=True), TrainConfig(epochs=2, batch_size=8)
    result = train(features, mc, tc)
    layer = result.model.get_layer("standardize")
    want_mean, want_std = fit_standardization(features.X[result.split.train])
    all_mean, _ = fit_standardization(features.X)
    assert not np.allclose(want_mean, all_mean, atol=1e-3)  # the test rows would have moved it
    np.testing.assert_allclose(np.ravel(layer.mean), want_mean, rtol=1e-5)
    np.testing.assert_allclose(np.sqrt(np.ravel(layer.variance)), want_std, rtol=1e-4)
    assert result.info["standardization"]["mean"] == pytest.approx(want_mean.tolist())
    path = save_bundle(tmp_path / "b", model=result.model, genres=features.genres, params=features.params,
                       model_config=mc, train_config=tc, metrics=result.metrics, history=result.history)
    loaded = load_bundle(path)  # safe_mode: the Normalization layer is a plain Keras layer
    X = features.X[result.split.test]
    np.testing.assert_allclose(loaded.model.predict(X, verbose=0), result.model.predict(X, verbose=0), atol=1e-5)


@pytest.mark.parametrize("kind", ["dense", "cnn", "lstm"])
def test_each_model_kind_trains_saves_loads_safely_and_predicts(kind, features, gtzan, tmp_path):
    from genre.learn.bundle import load_bundle, save_bundle
    from genre.learn.predict import predict_file

    mc = ModelConfig(kind=kind, hidden_units=(16,), filters=8, lstm_units=8, dense_units=8, l1=1e-5,
                     learning_rate=1e-2, standardize=True)
    tc = TrainConfig(epochs=2, batch_size=8)
    result = train(features, mc, tc)
    assert len(result.history["loss"]) == 2 and result.model.name == f"genre_{kind}"
    path = save_bundle(tmp_path / kind, model=result.model, genres=features.genres, params=features.params,
                       model_config=mc, train_config=tc, metrics=result.metrics, history=result.history)
    bundle = load_bundle(path)
    assert bundle.model_config.kind == kind
    clip = sorted(gtzan.glob("metal/*.wav"))[0]
    p = predict_file(bundle, clip)
    assert p.genre in features.genres and sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    X = features.X[:5]
    np.testing.assert_allclose(bundle.model.predict(X, verbose=0), result.model.predict(X, verbose=0), atol=1e-5)


def test_result_lists_every_test_track_for_error_analysis(trained, features):
    result, _ = trained
    rows = result.info["tracks"]
    assert sorted(r["track"] for r in rows) == sorted(set(features.track[result.split.test].tolist()))
    assert sum(r["correct"] for r in rows) / len(rows) == pytest.approx(result.metrics["track_accuracy"])


def test_a_runs_training_is_described_in_one_line():
    from genre.learn.training import describe_training

    spec = {"model_config": {"kind": "cnn", "dropout": 0.5, "l1": 0.0, "l2": 0.001, "standardize": True},
            "train_config": {"augment_copies": 2}}
    text = describe_training(spec, {"n_train_segments": 1200, "n_augmented_rows": 2400})
    assert text == ("CNN network; dropout 0.5, L1 0, L2 0.001; inputs standardised by the training rows' mean and "
                    "std; trained on 1,200 rows + 2,400 augmented copies (2 per training row).")
