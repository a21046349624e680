"""The feature explorer: every track as one point on a 2-D map, to see how separable the genres are.

A track is summarised by the mean and standard deviation of each MFCC over all frames of its
segments; the summary columns are standardised, then projected to two dimensions by one of
:data:`METHODS` (PCA, t-SNE). scikit-learn is imported inside the projections only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from genre.data.store import FeatureSet
from genre.errors import ParameterError

MIN_TRACKS = 3  # fewer points make no map
TSNE_PERPLEXITY = 30.0  # scikit-learn's default, lowered for small datasets (it must stay below the points)


class Method(NamedTuple):
    """A projection to 2-D: its label in the app and ``project(Z, seed) -> [shape=(n, 2)]``."""

    label: str
    project: Callable[[np.ndarray, int], np.ndarray]


def _pca(z: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit_transform(z)


def tsne_perplexity(n: int) -> float:
    """scikit-learn's default perplexity, or a third of the other points when there are fewer than 91."""
    return float(min(TSNE_PERPLEXITY, max(1.0, (n - 1) / 3)))


TSNE_ITERATIONS = 500  # Barnes-Hut (scikit-learn's default method); its default 1000 doubles the wait for a map
TSNE_MAX_DIMENSIONS = 50  # wider summaries (embeddings) go through PCA first, as t-SNE's authors advise


def _tsne(z: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    if z.shape[1] > TSNE_MAX_DIMENSIONS and len(z) > TSNE_MAX_DIMENSIONS:
        from sklearn.decomposition import PCA

        z = PCA(n_components=TSNE_MAX_DIMENSIONS, random_state=seed).fit_transform(z)
    return TSNE(n_components=2, perplexity=tsne_perplexity(len(z)), init="pca", random_state=seed,
                max_iter=TSNE_ITERATIONS).fit_transform(z)


METHODS: dict[str, Method] = {
    "pca": Method("PCA", _pca),
    "tsne": Method("t-SNE", _tsne),
}


def track_summary(fs: FeatureSet) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each MFCC over all frames of each track's segments (of each embedding value
    over the track's segments).

    Returns
    -------
    features : np.ndarray [shape=(tracks, 2 * n_mfcc), dtype=float64]
        The means of coefficients ``0..n_mfcc-1``, then their standard deviations.
    tracks : np.ndarray [shape=(tracks,)]
        The track id (index into ``fs.files``) of each row, ascending.

    Raises
    ------
    ParameterError
        ``fs`` does not record the track of each row (the notebook's JSON).
    """
    if not fs.has_tracks:
        raise ParameterError("these features do not record which track each row came from (the notebook's JSON "
                             "does not), so tracks cannot be summarised: extract them from the audio")
    tracks, inverse = np.unique(fs.track, return_inverse=True)
    x = np.asarray(fs.X, dtype=np.float64)
    if x.ndim == 2:  # embeddings: a segment is one frame, so a track's summary is over its segments
        x = x[:, None, :]
    n_mfcc = x.shape[2]
    sums, squares = np.zeros((len(tracks), n_mfcc)), np.zeros((len(tracks), n_mfcc))
    np.add.at(sums, inverse, x.sum(axis=1))
    np.add.at(squares, inverse, (x ** 2).sum(axis=1))
    frames = (np.bincount(inverse) * x.shape[1])[:, None]
    mean = sums / frames
    std = np.sqrt(np.maximum(squares / frames - mean ** 2, 0.0))
    return np.hstack([mean, std]), tracks


def standardise(features: np.ndarray) -> np.ndarray:
    """Each column to mean 0 and standard deviation 1 (a constant column to 0)."""
    std = features.std(axis=0)
    return (features - features.mean(axis=0)) / np.where(std > 0, std, 1.0)


def embed(fs: FeatureSet, *, method: str = "pca", seed: int = 0) -> list[dict]:
    """Every track of ``fs`` as a point on a 2-D map.

    Parameters
    ----------
    method : str
        A key of :data:`METHODS` (``"pca"`` or ``"tsne"``).
    seed : int
        Random state of the projection: the same seed gives the same map.

    Returns
    -------
    list of dict
        One per track, in track-id order: ``x``, ``y``, ``genre``, ``file``, ``track``, ``segments``.

    Raises
    ------
    ParameterError
        Unknown ``method``, features without track ids, or fewer than 3 tracks.
    """
    if method not in METHODS:
        raise ParameterError(f"unknown projection {method!r}: choose one of {', '.join(METHODS)}")
    features, tracks = track_summary(fs)
    if len(tracks) < MIN_TRACKS:
        raise ParameterError(f"a map of the tracks needs at least {MIN_TRACKS} tracks, these features have "
                             f"{len(tracks)}")
    points = METHODS[method].project(standardise(features), seed)
    first = {t: i for i, t in reversed(list(enumerate(fs.track.tolist())))}
    counts = np.bincount(fs.track, minlength=len(fs.files))
    return [{"x": float(px), "y": float(py), "genre": fs.genres[int(fs.y[first[t]])], "file": fs.files[t],
             "track": int(t), "segments": int(counts[t])}
            for t, (px, py) in zip(tracks.tolist(), points)]


def matches(points: list[dict], *, text: str = "", genres=()) -> list[bool]:
    """Which points a search picks out: file names containing ``text`` (any case), of one of ``genres``; all
    points when both are empty."""
    text = text.strip().lower()
    return [(not text or text in p["file"].lower()) and (not genres or p["genre"] in genres) for p in points]


def track_mfccs(fs: FeatureSet, track: int) -> np.ndarray:
    """The MFCCs of all segments of ``track``, in segment order, one after another [shape=(frames, n_mfcc)]
    (embeddings: one row per segment [shape=(segments, size)])."""
    rows = np.flatnonzero(fs.track == track)
    if not len(rows):
        raise ParameterError(f"no rows of track {track} in these features")
    rows = rows[np.argsort(fs.segment[rows], kind="stable")]
    return np.concatenate(list(fs.X[rows]), axis=0) if fs.X.ndim == 3 else fs.X[rows]
