import sys

import numpy as np
import pytest

from genre.data.explore import METHODS, embed, standardise, track_mfccs, track_summary, tsne_perplexity
from genre.data.params import FeatureParams
from genre.data.store import FeatureSet
from genre.errors import GenreError, ParameterError

GENRES = ("blues", "jazz", "rock")


def feature_set(n_tracks: int = 6, per_track: int = 2, frames: int = 4, n_mfcc: int = 3, *, seed: int = 0,
                track: np.ndarray | None = None) -> FeatureSet:
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(n_tracks), per_track)
    genre = np.arange(n_tracks) % len(GENRES)
    # genres apart on the first coefficient, so a map separates them
    X = rng.normal(size=(len(ids), frames, n_mfcc)) + 10.0 * genre[ids][:, None, None] * (np.arange(n_mfcc) == 0)
    return FeatureSet(X=X.astype(np.float32), y=genre[ids].astype(np.int64), genres=GENRES,
                      files=tuple(f"{GENRES[g]}/{i}.wav" for i, g in enumerate(genre)),
                      track=(ids if track is None else track).astype(np.int32),
                      segment=np.tile(np.arange(per_track), n_tracks).astype(np.int32), params=FeatureParams())


def test_track_summary_by_hand():
    # track 0: two segments of 2 frames x 1 coefficient: frames 1, 3 and 5, 7 -> mean 4, std sqrt(5)
    X = np.array([[[1.0], [3.0]], [[5.0], [7.0]], [[2.0], [2.0]]], dtype=np.float32)
    fs = FeatureSet(X=X, y=np.array([0, 0, 1]), genres=("a", "b"), files=("x", "y"), track=np.array([0, 0, 1]),
                    segment=np.array([0, 1, 0]), params=FeatureParams())
    features, tracks = track_summary(fs)
    assert tracks.tolist() == [0, 1]
    np.testing.assert_allclose(features, [[4.0, np.sqrt(5.0)], [2.0, 0.0]])


def test_track_summary_matches_numpy_per_track():
    fs = feature_set(n_tracks=5, per_track=3, n_mfcc=4)
    features, tracks = track_summary(fs)
    assert features.shape == (5, 8)
    for row, t in zip(features, tracks):
        frames = fs.X[fs.track == t].reshape(-1, 4).astype(float)
        np.testing.assert_allclose(row, np.concatenate([frames.mean(axis=0), frames.std(axis=0)]), atol=1e-9)


def test_standardise_leaves_constant_columns_at_zero():
    z = standardise(np.array([[1.0, 5.0], [3.0, 5.0]]))
    np.testing.assert_allclose(z, [[-1.0, 0.0], [1.0, 0.0]])


@pytest.mark.parametrize("method", list(METHODS))
def test_embed_gives_one_point_per_track_deterministically(method):
    fs = feature_set(n_tracks=9)
    rows = embed(fs, method=method, seed=3)
    assert [r["track"] for r in rows] == list(range(9))
    assert {r["genre"] for r in rows} == set(GENRES)
    assert rows[4] | {"x": 0, "y": 0} == {"x": 0, "y": 0, "genre": "jazz", "file": "jazz/4.wav", "track": 4,
                                          "segments": 2}
    assert all(np.isfinite([r["x"], r["y"]]).all() for r in rows)
    assert embed(fs, method=method, seed=3) == rows


def test_pca_map_separates_genres_that_differ():
    rows = embed(feature_set(n_tracks=9), method="pca")
    by_genre = {g: np.mean([r["x"] for r in rows if r["genre"] == g]) for g in GENRES}
    assert abs(by_genre["blues"] - by_genre["rock"]) > 2


@pytest.mark.parametrize("n, expected", [(3, 1.0), (10, 3.0), (31, 10.0), (1000, 30.0)])
def test_tsne_perplexity_stays_below_the_points(n, expected):
    assert tsne_perplexity(n) == expected < n


def test_tsne_works_on_the_smallest_map():
    assert len(embed(feature_set(n_tracks=3), method="tsne")) == 3


@pytest.mark.parametrize("fs, method, match", [
    (feature_set(n_tracks=2), "pca", "at least 3 tracks"),
    (feature_set(track=np.full(12, -1)), "pca", "do not record which track"),
    (feature_set(), "umap", "unknown projection 'umap'"),
])
def test_embed_errors(fs, method, match):
    with pytest.raises(ParameterError, match=match) as info:
        embed(fs, method=method)
    assert isinstance(info.value, GenreError)


def test_track_mfccs_concatenates_segments_in_order():
    fs = feature_set(n_tracks=2, per_track=3, frames=4)
    order = np.array([2, 0, 1, 5, 3, 4])  # rows stored out of segment order
    fs = FeatureSet(X=fs.X[order], y=fs.y[order], genres=fs.genres, files=fs.files, track=fs.track[order],
                    segment=fs.segment[order], params=fs.params)
    mfcc = track_mfccs(fs, 1)
    assert mfcc.shape == (12, 3)
    np.testing.assert_array_equal(mfcc[:4], fs.X[4])  # segment 0 of track 1
    with pytest.raises(ParameterError):
        track_mfccs(fs, 7)


def test_importing_explore_does_not_import_sklearn_or_tensorflow():
    import subprocess

    code = "import sys, genre.data.explore, genre.learn.evaluate; print('sklearn' in sys.modules, 'tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_a_search_finds_tracks_by_file_name_and_genre():
    from genre.data.explore import matches

    points = [{"file": "classical/classical.00023.wav", "genre": "classical"},
              {"file": "pop/pop.00086.wav", "genre": "pop"}, {"file": "pop/pop.00023.wav", "genre": "pop"}]
    assert matches(points) == [True, True, True]
    assert matches(points, text=" 00023 ") == [True, False, True]
    assert matches(points, text="CLASSICAL") == [True, False, False]
    assert matches(points, genres=["pop"]) == [False, True, True]
    assert matches(points, text="00023", genres=["pop"]) == [False, False, True]


def test_wide_summaries_go_through_pca_before_tsne(monkeypatch):
    import sklearn.decomposition

    from genre.data import explore

    calls = []
    real = sklearn.decomposition.PCA

    class Spy(real):
        def fit_transform(self, X, y=None):
            calls.append(X.shape)
            return super().fit_transform(X)

    monkeypatch.setattr(sklearn.decomposition, "PCA", Spy)
    z = np.random.default_rng(0).normal(size=(80, 120))
    assert explore.METHODS["tsne"].project(z, 0).shape == (80, 2)
    assert calls == [(80, 120)]  # 120 columns: to 50 first
    calls.clear()
    explore.METHODS["tsne"].project(z[:, :20], 0)
    assert calls == []
