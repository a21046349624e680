"""Tests for genre.data.demo: the synthetic GTZAN-shaped demo dataset."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import genre.data.demo as demo
from genre.data.demo import DEMO_GENRES, make_demo_dataset, synth_clip
from genre.errors import GenreError, ParameterError

SR = 8000
SECONDS = 2.0
SMALL = dict(genres=3, clips_per_genre=2, duration=SECONDS, sample_rate=SR)


def digests(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root``."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "data", seed=3, **SMALL)


def test_demo_genres_are_at_least_six_distinct_names():
    assert len(DEMO_GENRES) >= 6 and len(set(DEMO_GENRES)) == len(DEMO_GENRES)
    assert all(name.isidentifier() and name.islower() for name in DEMO_GENRES)


def test_layout_is_gtzan_shaped(small):
    expected = {"README.txt"} | {f"{g}/{g}.{k:05d}.wav" for g in DEMO_GENRES[:3] for k in range(2)}
    assert set(digests(small)) == expected
    assert "rock/rock.00001.wav" in expected  # five-digit numbering, like GTZAN's rock.00003.wav


def test_returns_the_folder_as_a_path(tmp_path):
    out = make_demo_dataset(str(tmp_path / "a" / "b"), genres=1, clips_per_genre=1, duration=0.5, sample_rate=SR)
    assert isinstance(out, Path) and out == tmp_path / "a" / "b" and out.is_dir()


def test_readme_says_the_clips_are_synthetic_and_how_they_were_made(small):
    text = (small / "README.txt").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text
    assert "not real music" in text and "not GTZAN" in text
    assert "genre.data.demo" in text
    for fact in ("seed: 3", f"sample_rate: {SR}", "clips_per_genre: 2", "duration: 2 s", "ambient, chiptune, rock"):
        assert fact in text


def test_every_clip_is_mono_16_bit_of_the_right_length(small):
    for path in small.rglob("*.wav"):
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.frames) == (SR, 1, int(SECONDS * SR))
        assert info.format == "WAV" and info.subtype == "PCM_16"
        y, _ = sf.read(str(path), dtype="float32")
        assert y.ndim == 1 and 0.3 < np.max(np.abs(y)) <= 1.0


def test_same_arguments_give_byte_identical_files(small, tmp_path):
    again = make_demo_dataset(tmp_path / "again", seed=3, **SMALL)
    assert digests(again) == digests(small)


def test_a_clip_does_not_depend_on_how_many_genres_or_clips_are_made(small, tmp_path):
    fewer = digests(make_demo_dataset(tmp_path, seed=3, genres=2, clips_per_genre=1, duration=SECONDS, sample_rate=SR))
    everything = digests(small)
    assert all(everything[name] == digest for name, digest in fewer.items() if name.endswith(".wav"))


def test_clip_k_of_genre_g_is_synth_clip_with_rng_seed_g_k(small):
    # The documented contract that lets a caller regenerate any single file.
    y, _ = sf.read(str(small / "rock" / "rock.00001.wav"), dtype="float32")
    expected = synth_clip("rock", duration=SECONDS, sample_rate=SR, rng=np.random.default_rng([3, 2, 1]))
    np.testing.assert_allclose(y, expected, atol=1.01 / 32768)  # 16-bit quantisation


def test_different_seeds_give_different_clips(small, tmp_path):
    other, first = digests(make_demo_dataset(tmp_path, seed=4, **SMALL)), digests(small)
    wavs = [name for name in first if name.endswith(".wav")]
    assert all(other[name] != first[name] for name in wavs)


def test_clips_of_one_genre_differ_from_each_other(small):
    a, _ = sf.read(str(small / "rock" / "rock.00000.wav"))
    b, _ = sf.read(str(small / "rock" / "rock.00001.wav"))
    assert not np.allclose(a, b, atol=0.05)


def test_progress_is_reported_once_per_clip_in_order(tmp_path):
    calls = []
    make_demo_dataset(tmp_path, genres=2, clips_per_genre=3, duration=0.5, sample_rate=SR,
                      on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 6) for i in range(1, 7)]


class Stop(Exception):
    """What a caller raises from on_progress to stop a run."""


def test_raising_from_on_progress_stops_and_leaves_only_whole_files(tmp_path):
    def stop(done, total):
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        make_demo_dataset(tmp_path, genres=6, clips_per_genre=10, duration=1.0, sample_rate=SR, on_progress=stop)
    wavs = list(tmp_path.rglob("*.wav"))
    assert 2 <= len(wavs) < 60
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]  # no temp files left
    for path in wavs:
        assert sf.info(str(path)).frames == SR


def test_a_failed_write_leaves_neither_a_wav_nor_a_temp_file(tmp_path, monkeypatch):
    def half_write(path, data, samplerate, **kwargs):
        Path(path).write_bytes(b"RIFF\x00\x00")  # a truncated header, then the "disk" fails
        raise OSError("disk full")

    monkeypatch.setattr(demo.sf, "write", half_write)
    with pytest.raises(OSError, match="disk full"):
        make_demo_dataset(tmp_path, genres=1, clips_per_genre=1, duration=0.5, sample_rate=SR)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["README.txt"]


@pytest.mark.parametrize("genre", DEMO_GENRES)
@pytest.mark.parametrize("duration, sr", [(2.5, 11025), (1.0, 1000), (0.01, 8000), (0.3, 44100)])
def test_synth_clip_is_mono_float32_of_int_duration_times_rate_samples(genre, duration, sr):
    y = synth_clip(genre, duration=duration, sample_rate=sr, rng=np.random.default_rng(0))
    assert y.dtype == np.float32 and y.shape == (int(duration * sr),)
    assert np.all(np.isfinite(y))
    assert 0.45 <= np.max(np.abs(y)) <= 0.91  # peak-normalised to 0.5-0.9: nothing clips


@pytest.mark.parametrize("genre", DEMO_GENRES)
def test_synth_clip_is_a_function_of_its_rng(genre):
    def make(seed):
        return synth_clip(genre, duration=1.0, sample_rate=SR, rng=np.random.default_rng(seed))

    assert np.array_equal(make(5), make(5))
    assert not np.array_equal(make(5), make(6))


def nearest_centroid_loo(x: np.ndarray, labels: np.ndarray) -> float:
    """Leave-one-out accuracy of a nearest-centroid classifier."""
    hits = 0
    for i in range(len(x)):
        rest = np.arange(len(x)) != i
        classes = np.unique(labels[rest])
        centroids = np.array([x[rest & (labels == c)].mean(axis=0) for c in classes])
        hits += int(classes[np.argmin(np.linalg.norm(centroids - x[i], axis=1))] == labels[i])
    return hits / len(x)


@pytest.fixture(scope="module")
def mfcc_stats() -> tuple[np.ndarray, np.ndarray]:
    """Standardised per-clip MFCC means and standard deviations of 8 clips x 4 s per genre."""
    librosa = pytest.importorskip("librosa")
    sr, feats, labels = 11025, [], []
    for g, name in enumerate(DEMO_GENRES):
        for k in range(8):
            y = synth_clip(name, duration=4.0, sample_rate=sr, rng=np.random.default_rng([0, g, k]))
            m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13)
            feats.append(np.concatenate([m.mean(axis=1), m.std(axis=1)]))
            labels.append(g)
    x = np.array(feats)
    return (x - x.mean(axis=0)) / x.std(axis=0), np.array(labels)


def test_genres_are_learnable_from_mfccs_far_above_chance(mfcc_stats):
    x, labels = mfcc_stats
    assert nearest_centroid_loo(x, labels) >= 0.7  # chance: 1/6


@pytest.mark.parametrize("a, b", list(itertools.combinations(range(len(DEMO_GENRES)), 2)))
def test_every_pair_of_genres_is_told_apart(mfcc_stats, a, b):
    x, labels = mfcc_stats
    pair = (labels == a) | (labels == b)
    assert nearest_centroid_loo(x[pair], labels[pair]) >= 0.7, (DEMO_GENRES[a], DEMO_GENRES[b])  # chance: 1/2


def test_clips_of_a_genre_vary(mfcc_stats):
    x, labels = mfcc_stats
    for g in range(len(DEMO_GENRES)):
        clips = x[labels == g]
        assert np.linalg.norm(clips[:, None] - clips[None], axis=-1)[np.triu_indices(len(clips), 1)].min() > 0.1


@pytest.mark.parametrize("genre", DEMO_GENRES)
def test_synth_clip_works_for_many_random_draws(genre):
    for seed in range(40):  # every random branch (arrangement, patterns, keys) at a tiny cost
        y = synth_clip(genre, duration=0.4, sample_rate=1000, rng=np.random.default_rng(seed))
        assert y.shape == (400,) and np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 0.91


@pytest.mark.parametrize("changes, word", [
    ({"genres": 0}, "genres"),
    ({"genres": len(DEMO_GENRES) + 1}, "genres"),
    ({"genres": 2.0}, "genres"),
    ({"genres": True}, "genres"),
    ({"clips_per_genre": 0}, "clips_per_genre"),
    ({"clips_per_genre": -3}, "clips_per_genre"),
    ({"duration": 0}, "duration"),
    ({"duration": -1.0}, "duration"),
    ({"duration": 600.5}, "duration"),
    ({"duration": float("nan")}, "duration"),
    ({"duration": "30"}, "duration"),
    ({"duration": 1e-5}, "no samples"),
    ({"sample_rate": 999}, "sample_rate"),
    ({"sample_rate": 192001}, "sample_rate"),
    ({"sample_rate": 22050.0}, "sample_rate"),
    ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"on_progress": "print"}, "on_progress"),
])
def test_bad_arguments_raise_parameter_error_naming_them(tmp_path, changes, word):
    kwargs = dict(genres=1, clips_per_genre=1, duration=0.5, sample_rate=SR) | changes
    with pytest.raises(ParameterError, match=word) as info:
        make_demo_dataset(tmp_path / "out", **kwargs)
    assert isinstance(info.value, GenreError)
    assert not (tmp_path / "out").exists()  # validated before anything is written


def test_error_messages_say_what_is_allowed(tmp_path):
    with pytest.raises(ParameterError, match=rf"from 1 to {len(DEMO_GENRES)}"):
        make_demo_dataset(tmp_path, genres=99)
    with pytest.raises(ParameterError, match=r"1000 to 192000"):
        make_demo_dataset(tmp_path, sample_rate=10)
    with pytest.raises(ParameterError, match=r"\(0, 600\]"):
        make_demo_dataset(tmp_path, duration=601)


@pytest.mark.parametrize("blocker", ["data", "data/ambient"])
def test_out_dir_or_a_genre_folder_that_is_a_file_is_refused(tmp_path, blocker):
    (tmp_path / blocker).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / blocker).write_text("not a folder")
    with pytest.raises(ParameterError, match="not a folder"):
        make_demo_dataset(tmp_path / "data", genres=1, clips_per_genre=1, duration=0.5, sample_rate=SR)
    assert (tmp_path / blocker).read_text() == "not a folder"
    assert not (tmp_path / "data" / "README.txt").exists()


@pytest.mark.parametrize("kwargs, word", [
    (dict(genre="polka"), "polka"),
    (dict(genre="Rock"), "Rock"),
    (dict(duration=0.0), "duration"),
    (dict(duration=1000.0), "duration"),
    (dict(sample_rate=500), "sample_rate"),
    (dict(rng=42), "rng"),
])
def test_synth_clip_rejects_bad_arguments(kwargs, word):
    args = dict(genre="rock", duration=1.0, sample_rate=SR, rng=np.random.default_rng(0)) | kwargs
    with pytest.raises(ParameterError, match=word):
        synth_clip(args.pop("genre"), **args)


def test_unknown_genre_message_lists_the_choices():
    with pytest.raises(ParameterError, match="ambient, chiptune"):
        synth_clip("polka", duration=1.0, sample_rate=SR, rng=np.random.default_rng(0))


def test_numpy_integer_and_float_arguments_are_accepted(tmp_path):
    out = make_demo_dataset(tmp_path, genres=np.int64(1), clips_per_genre=np.int32(1), duration=np.float64(0.5),
                            sample_rate=np.int64(SR), seed=np.int64(0))
    assert sf.info(str(out / "ambient" / "ambient.00000.wav")).frames == SR // 2
