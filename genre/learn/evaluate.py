"""Evaluation: the track vote, the scores, and the error analysis of the test tracks one by one.

:func:`track_votes` is the vote (a track's genre is the argmax of its segments' mean probabilities),
used by :func:`score`, the error rows and prediction alike. :func:`score` gives segment and track
(vote) accuracy, confusion matrices and per-genre precision/recall.

:func:`track_rows` turns the test rows' segment probabilities into one JSON-safe row per test
track (stored in a run's ``result.json`` under ``"tracks"``); :func:`filter_rows` narrows them to
the misclassified tracks or to one cell of the confusion matrix. The app only translates its
widgets' selections into :func:`filter_rows`' arguments, so the logic is testable without a browser.
"""

from __future__ import annotations

import numpy as np

from genre.errors import ParameterError

DECIMALS = 4  # probabilities stored per segment: enough to redraw the votes, small in result.json


def vote(probabilities: np.ndarray) -> np.ndarray:
    """One clip's vote: the mean of its segments' probabilities [shape=(n_genres,)]; its genre is the argmax."""
    return probabilities.mean(axis=0)


def track_votes(probabilities: np.ndarray, track: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean probability of each track's segments: :func:`vote` per track.

    Returns
    -------
    tracks : np.ndarray [shape=(t,)]
        The distinct track ids.
    mean : np.ndarray [shape=(t, n_genres)]
    """
    tracks, inverse = np.unique(track, return_inverse=True)
    sums = np.zeros((len(tracks), probabilities.shape[1]))
    np.add.at(sums, inverse, probabilities)
    return tracks, sums / np.bincount(inverse)[:, None]


def score(probabilities: np.ndarray, y: np.ndarray, track: np.ndarray, genres: tuple[str, ...]) -> dict:
    """Segment and track (vote) accuracy, confusion matrices and per-genre precision/recall."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    labels = list(range(len(genres)))
    seg_pred = probabilities.argmax(axis=1)
    tracks, mean = track_votes(probabilities, track)
    first = {t: i for i, t in reversed(list(enumerate(track.tolist())))}
    track_true = y[[first[t] for t in tracks.tolist()]]
    track_pred = mean.argmax(axis=1)
    report = classification_report(track_true, track_pred, labels=labels, target_names=list(genres),
                                   output_dict=True, zero_division=np.nan)
    defined = lambda v: None if v is None or np.isnan(v) else float(v)  # noqa: E731  (undefined: no tracks / no votes)
    return {
        "segment_accuracy": float(accuracy_score(y, seg_pred)),
        "track_accuracy": float(accuracy_score(track_true, track_pred)),
        "n_segments": int(len(y)), "n_tracks": int(len(tracks)),
        "confusion": confusion_matrix(track_true, track_pred, labels=labels).tolist(),
        "confusion_segments": confusion_matrix(y, seg_pred, labels=labels).tolist(),
        "per_genre": {g: {"precision": defined(report[g]["precision"]), "recall": defined(report[g]["recall"]),
                          "f1": defined(report[g]["f1-score"]), "support": int(report[g]["support"])} for g in genres},
    }


def track_rows(probabilities: np.ndarray, y: np.ndarray, track: np.ndarray, segment: np.ndarray,
               files: tuple[str, ...], genres: tuple[str, ...]) -> list[dict]:
    """One row per test track: its true genre, the segments' vote, and each segment's probabilities.

    The predicted genre is the argmax of the mean of the track's segment probabilities, the same
    vote as :func:`score`.

    Parameters
    ----------
    probabilities : np.ndarray [shape=(n, n_genres)]
        The model's output for the test rows.
    y : np.ndarray [shape=(n,)]
        True genre index of each row.
    track : np.ndarray [shape=(n,)]
        Track id of each row: an index into ``files`` (an id outside it is named ``track <id>``).
    segment : np.ndarray [shape=(n,)]
        Segment index of each row within its track.
    files : tuple of str
        Source file of each track id.
    genres : tuple of str [length n_genres]

    Returns
    -------
    list of dict, sorted by file
        ``file``, ``track``, ``true``, ``predicted``, ``probability`` (mean probability of the
        predicted genre), ``true_probability``, ``segments``, ``agreeing`` (segments whose own
        argmax is the predicted genre), ``correct`` and ``votes``: per segment, in segment order,
        ``{"segment", "genre", "probability", "probabilities"}`` (rounded to 4 decimals).

    Raises
    ------
    ParameterError
        The arrays' lengths differ, or ``probabilities`` has not one column per genre.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    y, track, segment = (np.asarray(a).astype(np.int64) for a in (y, track, segment))
    if probabilities.ndim != 2 or probabilities.shape[1] != len(genres):
        raise ParameterError(f"probabilities must have shape (rows, {len(genres)} genres), got {probabilities.shape}")
    if not len(y) == len(track) == len(segment) == len(probabilities):
        raise ParameterError(f"probabilities, y, track and segment must have one entry per row, got lengths "
                             f"{len(probabilities)}, {len(y)}, {len(track)} and {len(segment)}")
    if not len(y):
        return []
    tracks, mean = track_votes(probabilities, track)
    seg_vote = probabilities.argmax(axis=1)
    rows = []
    for t, avg in zip(tracks.tolist(), mean):
        mine = np.flatnonzero(track == t)
        mine = mine[np.argsort(segment[mine], kind="stable")]
        true, predicted = int(y[mine[0]]), int(avg.argmax())
        votes = [{"segment": int(segment[i]), "genre": genres[seg_vote[i]],
                  "probability": round(float(probabilities[i, seg_vote[i]]), DECIMALS),
                  "probabilities": [round(float(p), DECIMALS) for p in probabilities[i]]} for i in mine]
        rows.append({
            "file": files[t] if 0 <= t < len(files) else f"track {t}", "track": int(t),
            "true": genres[true], "predicted": genres[predicted],
            "probability": float(avg[predicted]), "true_probability": float(avg[true]),
            "segments": int(len(mine)), "agreeing": int(np.sum(seg_vote[mine] == predicted)),
            "correct": true == predicted, "votes": votes,
        })
    return sorted(rows, key=lambda r: (r["file"], r["track"]))


def filter_rows(rows: list[dict], *, misclassified: bool = False,
                cell: tuple[str, str] | None = None) -> list[dict]:
    """The rows of :func:`track_rows` that are misclassified and/or in one confusion-matrix cell.

    Parameters
    ----------
    misclassified : bool
        Keep only the tracks whose predicted genre is not the true one.
    cell : (true, predicted), optional
        Keep only the tracks of this true genre predicted as this genre.
    """
    if cell is not None:
        true, predicted = cell
        rows = [r for r in rows if r["true"] == true and r["predicted"] == predicted]
    if misclassified:
        rows = [r for r in rows if not r["correct"]]
    return list(rows)


def segment_probabilities(row: dict) -> np.ndarray:
    """The per-segment probabilities of one :func:`track_rows` row [shape=(segments, n_genres)]."""
    return np.array([v["probabilities"] for v in row["votes"]], dtype=float)


def confusion_cells(rows: list[dict], genres: tuple[str, ...] | list[str]) -> list[dict]:
    """Every (true, predicted) pair of ``genres`` with its count of ``rows``, true genre by true genre.

    Returns
    -------
    list of dict
        ``{"true", "predicted", "count"}``, ``len(genres) ** 2`` of them (empty cells count 0).
    """
    counts = {(t, p): 0 for t in genres for p in genres}
    for r in rows:
        counts[r["true"], r["predicted"]] = counts.get((r["true"], r["predicted"]), 0) + 1
    return [{"true": t, "predicted": p, "count": n} for (t, p), n in counts.items()]
