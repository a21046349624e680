"""Classifying clips with a bundle, and evaluating a bundle on a labelled folder.

A clip is cut as the model's tracks were (:func:`genre.data.features.excerpt`: the first or the middle
``duration`` seconds in ``num_segments`` segments, or at most ``max_segments`` spread over the whole
track), so a 5-minute upload is judged on what the model learned from and its track accuracy
applies. A clip shorter than that gives the segments it has. Each segment is classified, and the
clip's genre is the argmax of the segments' mean probabilities. A clip shorter than one segment
is an error (no padding: padded silence is not what the model was trained on).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from genre.data.audio import load_audio
from genre.data.features import excerpt, segment_rows
from genre.errors import BundleError, ClipTooShortError, DatasetError
from genre.learn.bundle import Bundle
from genre.learn.evaluate import vote

WEAK_PROBABILITY = 0.5  # below this top probability a prediction is called weak
WEAK_AGREEMENT = 0.6  # ... and when fewer of its segments than this voted for the clip's genre


@dataclass
class Prediction:
    """What a bundle says about one clip.

    Attributes
    ----------
    genre : str
    probabilities : dict of str to float
        Mean over segments, per genre.
    segment_probabilities : np.ndarray [shape=(n_segments, n_genres)]
    segment_seconds : float
    duration : float
        Seconds of audio in the clip.
    """

    name: str
    genre: str
    probabilities: dict[str, float]
    segment_probabilities: np.ndarray
    segment_seconds: float
    duration: float
    used: str = ""  # which part of the clip the segments came from, in words

    @property
    def n_segments(self) -> int:
        return len(self.segment_probabilities)

    def segment_votes(self, genres: tuple[str, ...]) -> list[str]:
        return [genres[i] for i in self.segment_probabilities.argmax(axis=1)]

    @property
    def ranked(self) -> list[tuple[str, float]]:
        """``(genre, probability)``, most probable first."""
        return sorted(self.probabilities.items(), key=lambda kv: -kv[1])

    @property
    def agreement(self) -> float:
        """The fraction of segments whose own vote is the clip's genre."""
        genres = list(self.probabilities)
        votes = self.segment_probabilities.argmax(axis=1)
        return float(np.mean(votes == genres.index(self.genre)))

    def doubts(self) -> list[str]:
        """Why this prediction is weak, in words (empty when it is not)."""
        (top, p), (second, q) = self.ranked[:2] if len(self.ranked) > 1 else (self.ranked[0], ("", 0.0))
        out = []
        if p < WEAK_PROBABILITY:
            # "Close behind" only when it is: within 15 points and at least two thirds of the top (not 14% to 27%).
            close = second and p - q < 0.15 and q >= 2 / 3 * p
            out.append(f"the top probability is only {p:.0%}"
                       + (f" ({second} is close behind at {q:.0%})" if close else
                          f"; next is {second} at {q:.0%}" if second else ""))
        if self.n_segments > 1 and self.agreement < WEAK_AGREEMENT:
            out.append(f"only {self.agreement:.0%} of its {self.n_segments} segments voted {top}")
        return out

    def row(self) -> dict:
        """One line of a results table."""
        ranked = self.ranked
        return {"file": self.name, "genre": self.genre, "probability": ranked[0][1],
                "runner-up": ranked[1][0] if len(ranked) > 1 else "",
                "runner-up probability": ranked[1][1] if len(ranked) > 1 else None,
                "segments": self.n_segments, "segment agreement": self.agreement, "part used": self.used,
                "weak": "; ".join(self.doubts())}


def predict_signal(bundle: Bundle, y: np.ndarray, *, name: str = "clip") -> Prediction:
    """Classify a mono signal already at ``bundle.params.sample_rate``, cut as the model's tracks were."""
    p = bundle.params
    part, segments = excerpt(y, p) if len(y) >= p.segment_samples else (y, [])
    if not segments:
        raise ClipTooShortError(f"{name} is {len(y) / p.sample_rate:.2f} s long; this model needs at least "
                                f"{p.segment_samples / p.sample_rate:.2f} s (one segment)")
    X, kept = segment_rows(part, params=p, segments=segments)
    if not len(kept):
        raise ClipTooShortError(f"{name}: none of its segments is long enough for this model's features")
    probs = predict_rows(bundle, X, p)
    mean = vote(probs)
    return Prediction(name=name, genre=bundle.genres[int(mean.argmax())],
                      probabilities={g: float(v) for g, v in zip(bundle.genres, mean)},
                      segment_probabilities=probs, segment_seconds=p.segment_samples / p.sample_rate,
                      duration=len(y) / p.sample_rate, used=part_used(p, len(y), len(segments)))


def predict_rows(bundle: Bundle, X: np.ndarray, params) -> np.ndarray:
    """The bundle's probabilities for rows ``X`` made with ``params`` [shape=(n, n_genres)]; a
    :class:`~genre.errors.BundleError` that says what each is when the rows are not what the model was trained on."""
    want = bundle.params
    if params.features != want.features or tuple(X.shape[1:]) != tuple(want.input_shape):
        raise BundleError(f"this model was trained on {_kind_words(want)} ({' × '.join(map(str, want.input_shape))} "
                          f"per segment); these rows are {_kind_words(params)} "
                          f"({' × '.join(map(str, X.shape[1:]))}): make them with the model's own feature settings")
    return bundle.model.predict(X, batch_size=256, verbose=0)


def _kind_words(params) -> str:
    return "MFCCs" if params.features == "mfcc" else f"musicnn {params.layer} embeddings"


def part_used(params, n_samples: int, n_segments: int) -> str:
    """Which part of a clip of ``n_samples`` its ``n_segments`` segments came from, in words."""
    seconds, seg = n_samples / params.sample_rate, params.segment_samples / params.sample_rate
    segs = f"{n_segments} segment{'' if n_segments == 1 else 's'} of {seg:.2f} s"
    if params.excerpt == "whole":
        return f"{segs} spread over the whole {seconds:.0f} s (at most {params.max_segments}, as the model was trained)"
    if seconds <= params.duration:
        return f"{segs}: all of the {seconds:.1f} s clip (the model was trained on {params.duration:g} s)"
    where = "first" if params.excerpt == "start" else "middle"
    return f"{segs} from the {where} {params.duration:g} s of the {seconds:.0f} s clip, as the model was trained"


def predict_file(bundle: Bundle, source: str | Path | bytes | BinaryIO, *, name: str | None = None) -> Prediction:
    """Decode ``source`` at the bundle's sample rate and classify it.

    ``name`` is the file's name for bytes and file objects (an upload's): its extension tells the
    decoder the format, as a path's does, and errors name it.
    """
    y = load_audio(source, sample_rate=bundle.params.sample_rate,
                   name=None if isinstance(source, (str, Path)) else name)
    name = name or (Path(source).name if isinstance(source, (str, Path)) else "upload")
    return predict_signal(bundle, y, name=name)


def evaluate_dataset(bundle: Bundle, root: str | Path, *, jobs: int = 1, on_progress=None,
                     exclude: tuple[str, ...] = ()) -> dict:
    """Score ``bundle`` on every readable file of a GTZAN-shaped folder with the model's genres.

    Features are extracted exactly as for training (the bundle's parameters, all files).

    Raises
    ------
    DatasetError
        The folder has genre sub-folders the model does not know.
    """
    from genre.data.dataset import scan_dataset
    from genre.data.extract import extract_features
    from genre.learn.evaluate import score

    root = Path(root)
    found = scan_dataset(root, exclude=exclude)  # validates the folder and lists its genres
    unknown = sorted(set(found.genres) - set(bundle.genres))
    if unknown:
        raise DatasetError(f"{root} has genre folder(s) the model does not know: {', '.join(unknown)} "
                           f"(model genres: {', '.join(bundle.genres)})")
    # Keep the model's label order; genres absent from the folder simply have no files.
    files = tuple(found.files[found.genres.index(g)] if g in found.genres else () for g in bundle.genres)
    dataset = dataclasses.replace(found, genres=bundle.genres, files=files,
                                  available=tuple(len(f) for f in files))
    params = bundle.params.replace(files_per_genre=-1, exclude=())
    fs = extract_features(dataset, params, jobs=jobs, on_progress=on_progress)
    result = {"genres": list(bundle.genres), "n_tracks": 0, "skipped": [s[0] for s in fs.skipped],
              "track_accuracy": 0.0, "segment_accuracy": 0.0,
              "confusion": [[0] * len(bundle.genres) for _ in bundle.genres]}
    if len(fs) == 0:
        return result
    probs = predict_rows(bundle, fs.X, fs.params)
    metrics = score(probs, fs.y, fs.track, bundle.genres)
    result.update(n_tracks=metrics["n_tracks"], track_accuracy=metrics["track_accuracy"],
                  segment_accuracy=metrics["segment_accuracy"], confusion=metrics["confusion"],
                  per_genre=metrics["per_genre"])
    return result
