"""Tests for genre.learn.splits: the split-mode registry, k-fold by track, predefined lists, GTZAN's split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genre.data.params import FeatureParams
from genre.data.store import FeatureSet
from genre.errors import ParameterError, TrainingError
from genre.learn.config import TrainConfig
from genre.learn.splits import GTZAN_GENRES, GTZAN_LISTS, SPLIT_MODES, looks_like_gtzan, read_lists
from genre.learn.training import split_rows


def fake_features(files: list[str], genres: tuple[str, ...], segments: int = 2) -> FeatureSet:
    """Random rows for ``files`` (``genre/name``), ``segments`` per file: splits need no audio."""
    labels = [genres.index(f.split("/")[0]) for f in files]
    n = len(files) * segments
    rng = np.random.default_rng(0)
    return FeatureSet(X=rng.standard_normal((n, 4, 3)).astype(np.float32), y=np.repeat(labels, segments),
                      genres=genres, files=tuple(files), track=np.repeat(np.arange(len(files)), segments).astype(np.int32),
                      segment=np.tile(np.arange(segments), len(files)).astype(np.int32), params=FeatureParams())


@pytest.fixture
def small():
    genres = ("a", "b", "c")
    return fake_features([f"{g}/{g}.{k:05d}.wav" for g in genres for k in range(6)], genres)


def tracks(fs, rows) -> set[int]:
    return set(fs.track[rows].tolist())


def test_every_mode_is_one_entry_with_a_label_and_a_divider():
    assert list(SPLIT_MODES) == ["track", "segment", "kfold", "lists"]
    assert all(m.label and callable(m.divide) for m in SPLIT_MODES.values())
    assert [k for k, m in SPLIT_MODES.items() if not m.by_track] == ["segment"]


@pytest.mark.parametrize("seed", [0, 1])
def test_kfold_tests_every_track_exactly_once_over_the_folds(small, seed):
    tested = []
    for fold in range(3):
        split = split_rows(small, TrainConfig(split="kfold", folds=3, fold=fold, seed=seed))
        assert tracks(small, split.train).isdisjoint(tracks(small, split.test))
        assert sorted(np.concatenate([split.train, split.test]).tolist()) == list(range(len(small)))
        assert split.stratified  # 6 tracks a genre over 3 folds: every genre in every test fold
        tested += sorted(tracks(small, split.test))
    assert sorted(tested) == list(range(len(small.files)))


def test_kfold_with_more_folds_than_tracks_is_a_training_error(small):
    with pytest.raises(TrainingError, match="20-fold needs at least 20 tracks"):
        split_rows(small, TrainConfig(split="kfold", folds=20, fold=0))


@pytest.mark.parametrize("changes, message", [
    ({"split": "kfold", "folds": 3, "fold": 3}, "fold must be an integer from 0 to folds-1"),
    ({"split": "kfold", "folds": 1}, "folds must be an integer from 2"),
    ({"split": "lists"}, "split='lists' needs lists"),
    ({"split": "random"}, "split must be one of track, segment, kfold, lists"),
])
def test_bad_split_settings_are_parameter_errors(changes, message):
    with pytest.raises(ParameterError, match=message):
        TrainConfig(**changes).validate()


def write_lists(folder: Path, **sides: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, entries in sides.items():
        (folder / f"{name}.txt").write_text("\n".join(entries) + "\n")
    return folder


def test_lists_give_the_listed_sides_and_report_missing_files(small, tmp_path):
    files = small.files
    lists = write_lists(tmp_path / "lists", train=[f for f in files if f.endswith(("0.wav", "1.wav", "2.wav"))],
                        valid=[f for f in files if f.endswith("3.wav")],
                        test=[f for f in files if f.endswith("4.wav")] + ["c/c.99999.wav", "d/d.00000.au"])
    split = split_rows(small, TrainConfig(split="lists", lists=str(lists)))
    assert sorted(small.files[t] for t in tracks(small, split.test)) == sorted(f for f in files if f.endswith("4.wav"))
    assert {small.files[t][-5] for t in tracks(small, split.val)} == {"3"}  # valid.txt is the validation side
    assert {small.files[t][-5] for t in tracks(small, split.train)} == {"0", "1", "2"}
    assert not any(small.files[t].endswith("5.wav") for t in tracks(small, split.train) | tracks(small, split.test))
    assert split.missing == ("c/c.99999.wav", "d/d.00000.au")  # listed, not in the features: said, not dropped
    assert split.validation_name == "the lists' validation files"


def test_lists_match_files_whatever_their_audio_extension(small, tmp_path):
    """GTZAN's lists say .wav; the original GTZAN is .au."""
    au = fake_features([f.replace(".wav", ".au") for f in small.files], small.genres)
    lists = write_lists(tmp_path / "l", train=list(small.files[:-3]), test=list(small.files[-3:]))
    split = split_rows(au, TrainConfig(split="lists", lists=str(lists)))
    assert len(tracks(au, split.test)) == 3 and split.missing == ()


def test_lists_without_valid_use_the_test_split_for_the_curve_and_need_train_and_test(small, tmp_path):
    lists = write_lists(tmp_path / "l", train=list(small.files[::2]), test=list(small.files[1::2]))
    assert read_lists(lists)["valid"] == []
    assert split_rows(small, TrainConfig(split="lists", lists=str(lists))).val is None
    with pytest.raises(TrainingError, match="test.txt not found"):
        split_rows(small, TrainConfig(split="lists", lists=str(write_lists(tmp_path / "m", train=["a/a.00000.wav"]))))
    other = write_lists(tmp_path / "o", train=["x/x.1.wav"], test=["y/y.1.wav"])
    with pytest.raises(TrainingError, match="name no training or no test file"):
        split_rows(small, TrainConfig(split="lists", lists=str(other)))


def test_the_bundled_gtzan_split_and_a_synthetic_folder_named_like_gtzan():
    lists = read_lists(GTZAN_LISTS)
    assert [len(lists[k]) for k in ("train", "valid", "test")] == [443, 197, 290]
    assert (GTZAN_LISTS / "README.md").read_text().startswith("# GTZAN fault-filtered split")  # the attribution
    chosen = [f for side in ("train", "valid", "test") for f in
              [next(e for e in lists[side] if e.startswith(g + "/")) for g in GTZAN_GENRES]]
    fs = fake_features(chosen + ["jazz/jazz.09999.wav"], GTZAN_GENRES)  # one in no list: left out
    assert looks_like_gtzan(fs.genres, fs.files)
    assert not looks_like_gtzan(("a", "b"), ["a/a.00000.wav"])
    split = split_rows(fs, TrainConfig(split="lists", lists=str(GTZAN_LISTS)))
    assert len(tracks(fs, split.train)) == len(tracks(fs, split.val)) == len(tracks(fs, split.test)) == 10
    assert len(split.missing) == 930 - 30  # the rest of GTZAN is not in this tiny folder, and it is said


@pytest.mark.parametrize("metrics, config, want", [
    ({"split": "track"}, None, SPLIT_MODES["track"].label),
    ({"split": "kfold", "fold": 1, "folds": 5}, None, SPLIT_MODES["kfold"].label + ", fold 2 of 5"),
    ({}, {"split": "kfold", "fold": 0, "folds": 3}, SPLIT_MODES["kfold"].label + ", fold 1 of 3"),
    ({"split": "mystery"}, None, "mystery"),
])
def test_a_runs_split_is_named_with_its_fold(metrics, config, want):
    from genre.learn.splits import split_name

    assert split_name(metrics, config) == want


@pytest.mark.parametrize("metrics, tc, expected", [
    ({"split": "track"}, {"test_size": 0.3}, "By track (honest, default), 30% held out"),
    ({"split": "segment"}, {"test_size": 0.25}, "Random segments (the notebook's), 25% held out (overstates accuracy)"),
    ({"split": "kfold", "fold": 1, "folds": 5}, {}, "k-fold by track, fold 2 of 5"),
    ({"split": "lists"}, {"lists": "/x/lists"}, "Predefined lists (e.g. GTZAN fault-filtered) (/x/lists)"),
])
def test_a_split_is_described_with_what_was_held_out(metrics, tc, expected):
    from genre.learn.splits import describe_split

    assert describe_split(metrics, tc) == expected
