"""Tests for genre.learn.augment, and for augmented rows reaching training only as copies of training rows."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SR, TINY_MODEL

from genre.data.store import FeatureSet
from genre.errors import TrainingError
from genre.learn.augment import augment_features, augment_signal, load_or_augment, mask_rows, training_copies
from genre.learn.config import ModelConfig, TrainConfig
from genre.learn.splits import SPLIT_MODES
from genre.learn.training import split_rows


def _pairs(fs: FeatureSet, rows) -> set[tuple[int, int]]:
    return set(zip(fs.track[rows].tolist(), fs.segment[rows].tolist()))


def _lists(folder, fs: FeatureSet):
    """train/valid/test lists of the tiny dataset: clips 0-1 train, 2 valid, 3 test."""
    folder.mkdir()
    for side, ends in (("train", ("0.wav", "1.wav")), ("valid", ("2.wav",)), ("test", ("3.wav",))):
        (folder / f"{side}.txt").write_text("\n".join(f for f in fs.files if f.endswith(ends)) + "\n")
    return str(folder)


SPLITS = [  # every split mode, and each with early stopping's validation rows
    *[dict(split=m) for m in SPLIT_MODES if m != "lists"],
    dict(split="track", patience=2), dict(split="segment", patience=2),
    dict(split="kfold", folds=2, fold=1, patience=2), dict(split="lists"),
]
assert {s["split"] for s in SPLITS} == set(SPLIT_MODES)


def _masks_only(features) -> FeatureSet:
    return augment_features(features, TrainConfig(augment_copies=2, time_mask=4, coef_mask=2).augmentation(), jobs=1)


@pytest.mark.parametrize("how", SPLITS, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_copies_of_test_and_validation_rows_never_reach_training(features, tmp_path, how):
    """For every split mode: the copies chosen are those of training rows, none of a test or validation row."""
    aug = _masks_only(features)
    if how["split"] == "lists":
        how = {**how, "lists": _lists(tmp_path / "lists", features)}
    split = split_rows(features, TrainConfig(**how))
    chosen = training_copies(aug, features, split.train)
    held = _pairs(features, split.test) | (set() if split.val is None else _pairs(features, split.val))
    assert len(chosen) and _pairs(aug, chosen) <= _pairs(features, split.train)
    assert not _pairs(aug, chosen) & held
    unchosen = np.setdiff1d(np.arange(len(aug)), chosen)
    assert _pairs(aug, unchosen) <= held  # and every copy of a training row is used
    if SPLIT_MODES[how["split"]].by_track:
        assert not set(aug.track[chosen].tolist()) & set(features.track[split.test].tolist())


@pytest.mark.parametrize("how", SPLITS, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_training_fits_on_training_rows_and_their_copies_only(features, tmp_path, how):
    """Copies of test/validation rows are poisoned with NaN: one reaching the fit would make the loss NaN."""
    from genre.learn.training import train

    aug = _masks_only(features)
    if how["split"] == "lists":
        how = {**how, "lists": _lists(tmp_path / "lists", features)}
    tc = TrainConfig(epochs=2, batch_size=8, augment_copies=2, time_mask=4, **how)
    split = split_rows(features, tc)
    held = _pairs(features, split.test) | (set() if split.val is None else _pairs(features, split.val))
    X = aug.X.copy()
    X[[pair in held for pair in zip(aug.track.tolist(), aug.segment.tolist())]] = np.nan
    poisoned = FeatureSet(**{**aug.__dict__, "X": X})
    result = train(features, ModelConfig(**TINY_MODEL), tc, augmented=poisoned)
    assert np.all(np.isfinite(result.history["loss"]))
    assert result.metrics["n_augmented_rows"] == len(training_copies(aug, features, split.train)) > 0
    assert result.metrics["n_train_segments"] == len(split.train)


def test_audio_copies_carry_their_track_and_segment_and_differ_from_the_originals(features):
    settings = TrainConfig(augment_copies=2, pitch_shift=2.0, time_stretch=0.1, noise_snr=20.0).augmentation()
    aug = augment_features(features, settings, jobs=2)
    assert set(aug.track.tolist()) == set(features.track.tolist())
    assert aug.X.shape[1:] == features.X.shape[1:] and aug.X.dtype == np.float32
    for t in np.unique(features.track):  # up to 2 copies of each kept segment (a faster copy may lose the last)
        original = set(features.segment[features.track == t].tolist())
        got = aug.segment[aug.track == t].tolist()
        assert set(got) <= original and len(original) <= len(got) <= 2 * len(original)
        assert np.all(aug.y[aug.track == t] == features.y[features.track == t][0])
    first = (aug.track == 0) & (aug.segment == features.segment[0])
    assert not np.allclose(aug.X[np.flatnonzero(first)[0]], features.X[0], atol=1e-3)
    again = augment_features(features, settings, jobs=1)  # deterministic: seeded by track and copy, not the run
    np.testing.assert_array_equal(again.X, aug.X)


def test_augmented_copies_are_cached_per_setting(features, tmp_path, monkeypatch):
    import genre.learn.augment as augment

    store = tmp_path / "f.npz"
    tc = TrainConfig(augment_copies=1, time_mask=3)
    first = load_or_augment(features, store, tc, jobs=1)
    calls = []
    monkeypatch.setattr(augment, "augment_features", lambda *a, **k: calls.append(1) or first)
    again = load_or_augment(features, store, tc, jobs=1)
    assert calls == [] and np.array_equal(again.X, first.X)
    load_or_augment(features, store, tc.replace(time_mask=4), jobs=1)
    assert calls == [1]  # another setting: computed, not the first one's cache
    assert load_or_augment(features, store, TrainConfig()) is None


def test_noise_is_added_at_the_asked_signal_to_noise_ratio():
    y = np.sin(np.linspace(0, 2000, 40000)).astype(np.float32)
    noisy = augment_signal(y, sample_rate=SR, settings={"noise_snr": 10.0}, rng=np.random.default_rng(0))
    snr = 10 * np.log10(np.mean(y ** 2) / np.mean((noisy - y) ** 2))
    assert snr == pytest.approx(10.0, abs=0.2)


def test_pitch_shift_keeps_the_length_and_time_stretch_changes_it():
    y = np.sin(2 * np.pi * 440 * np.arange(SR * 2) / SR).astype(np.float32)
    shifted = augment_signal(y, sample_rate=SR, settings={"pitch_shift": 3.0}, rng=np.random.default_rng(1))
    assert len(shifted) == len(y) and not np.allclose(shifted, y, atol=1e-2)
    stretched = augment_signal(y, sample_rate=SR, settings={"time_stretch": 0.3}, rng=np.random.default_rng(1))
    assert len(stretched) != len(y)


def test_masks_fill_one_band_of_frames_and_one_of_coefficients_with_the_rows_mean():
    X = np.random.default_rng(0).normal(size=(50, 20, 8)).astype(np.float32)
    masked = mask_rows(X, settings={"time_mask": 5, "coef_mask": 3}, rng=np.random.default_rng(0))
    assert masked.shape == X.shape and not np.shares_memory(masked, X)
    for m, x in zip(masked, X):
        changed = ~np.isclose(m, x)
        frames, coefs = np.flatnonzero(changed.all(axis=1)), np.flatnonzero(changed.all(axis=0))
        assert len(frames) <= 5 and len(coefs) <= 3  # at most one band of each, no wider than asked
        for f in frames:  # a masked frame holds the row's mean of each coefficient (outside a masked coef band)
            keep = np.setdiff1d(np.arange(8), coefs)
            np.testing.assert_allclose(m[f, keep], x.mean(axis=0)[keep], atol=1e-5)
    assert any((~np.isclose(m, x)).any() for m, x in zip(masked, X))


def test_augmentation_needs_tracks_and_audio(features, tmp_path):
    from dataclasses import replace

    settings = TrainConfig(augment_copies=1, pitch_shift=1.0).augmentation()
    with pytest.raises(TrainingError, match="dataset folder"):
        augment_features(replace(features, root=str(tmp_path / "gone")), settings)
    no_tracks = replace(features, track=np.full(len(features), -1, np.int32))
    with pytest.raises(TrainingError, match="track of each row"):
        augment_features(no_tracks, settings)


@pytest.mark.parametrize("changes, message", [
    (dict(augment_copies=2), "needs at least one transform"),
    (dict(augment_copies=-1), "augment_copies must be"),
    (dict(augment_copies=1, pitch_shift=13), "pitch_shift must be"),
    (dict(augment_copies=1, time_stretch=0.9), "time_stretch must be"),
    (dict(augment_copies=1, noise_snr=float("nan")), "noise_snr must be"),
])
def test_bad_augmentation_settings_are_parameter_errors(changes, message):
    from genre.errors import ParameterError

    with pytest.raises(ParameterError, match=message):
        TrainConfig(**changes).validate()


def test_zero_db_of_noise_is_a_transform_not_off():
    assert TrainConfig(augment_copies=1, noise_snr=0.0).augmentation()["noise_snr"] == 0.0
    assert TrainConfig(pitch_shift=2.0).augmentation() is None  # no copies: nothing augmented


def test_noise_at_zero_db_is_noise_not_a_mask_only_copy(features):
    """0 dB is a valid signal-to-noise ratio (as loud as the music), not "off"."""
    settings = TrainConfig(augment_copies=1, noise_snr=0.0).augmentation()
    aug = augment_features(features, settings, jobs=1)
    same = (aug.track == features.track[0]) & (aug.segment == features.segment[0])
    assert not np.allclose(aug.X[np.flatnonzero(same)[0]], features.X[0], atol=1e-2)
