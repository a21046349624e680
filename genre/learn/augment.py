"""Audio augmentation of the training tracks: pitch shift, time stretch, noise, SpecAugment masks.

Every track of a feature set gets ``augment_copies`` altered copies (the audio of its excerpt
pitch-shifted, stretched and noised with librosa's ``effects``, then cut and turned into MFCCs
exactly as the originals were; then a band of frames and a band of coefficients masked in each
row). The copies are computed for every track once and cached per setting next to the feature
store, so repeated seeds and the folds of an experiment reuse them; training then takes only the
copies of its *training* rows (:func:`training_copies`), so no copy of a test or validation track
ever reaches the network.

Each copy is drawn from a generator seeded by the track and copy number, not by the run's seed:
the same setting always gives the same rows (and the same cache).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from pathlib import Path

import numpy as np

from genre.data.audio import load_audio
from genre.data.extract import _READ_MARGIN_S
from genre.data.features import excerpt, segment_mfccs
from genre.data.store import FeatureSet, load_features, save_features
from genre.errors import AudioError, Cancelled, TrainingError
from genre.learn.config import TrainConfig, check_features

log = logging.getLogger("genre")

# A sensible augmentation to start from (the one benchmarks/bench_remedies.py measured): what a user gets
# when they turn copies on with no transform chosen.
SUGGESTED = {"pitch_shift": 2.0, "time_stretch": 0.1, "noise_snr": 30.0, "time_mask": 8, "coef_mask": 2}


def needs_audio(settings: dict) -> bool:
    """Whether ``settings`` alter the audio (pitch, stretch, noise: 0 dB is noise too) or only mask the rows."""
    return bool(settings.get("pitch_shift") or settings.get("time_stretch")) or settings.get("noise_snr") is not None


def describe(settings: dict | None) -> str:
    """The augmentation in a few words (``"–"`` when there is none)."""
    if not settings:
        return "–"
    parts = [f"pitch ±{settings['pitch_shift']:g} st" if settings.get("pitch_shift") else "",
             f"stretch ±{settings['time_stretch']:g}" if settings.get("time_stretch") else "",
             f"noise {settings['noise_snr']:g} dB" if settings.get("noise_snr") is not None else "",
             f"mask {settings['time_mask']} frames" if settings.get("time_mask") else "",
             f"mask {settings['coef_mask']} coefs" if settings.get("coef_mask") else ""]
    return f"{settings['augment_copies']}× " + ", ".join(p for p in parts if p)


def augment_signal(y: np.ndarray, *, sample_rate: int, settings: dict, rng: np.random.Generator) -> np.ndarray:
    """One altered copy of the mono signal ``y`` (pitch shift, then time stretch, then noise).

    Parameters
    ----------
    settings : dict
        :meth:`genre.learn.config.TrainConfig.augmentation`: ``pitch_shift`` (semitones, drawn from
        ``±pitch_shift``), ``time_stretch`` (rate drawn from ``1 ± time_stretch``), ``noise_snr``
        (dB of signal over white noise; None: none).
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if settings.get("pitch_shift"):
        steps = rng.uniform(-settings["pitch_shift"], settings["pitch_shift"])
        y = librosa.effects.pitch_shift(y=y, sr=sample_rate, n_steps=float(steps))
    if settings.get("time_stretch"):
        rate = rng.uniform(1 - settings["time_stretch"], 1 + settings["time_stretch"])
        y = librosa.effects.time_stretch(y=y, rate=float(rate))
    if settings.get("noise_snr") is not None:
        power = float(np.mean(np.square(y, dtype=np.float64))) or 1e-12
        y = y + rng.normal(0.0, np.sqrt(power / 10 ** (settings["noise_snr"] / 10)), len(y)).astype(np.float32)
    return y.astype(np.float32, copy=False)


def mask_rows(X: np.ndarray, *, settings: dict, rng: np.random.Generator) -> np.ndarray:
    """SpecAugment's masks on MFCC rows [shape=(k, frames, n_mfcc)], on a copy.

    Each row gets one band of up to ``time_mask`` frames and one of up to ``coef_mask``
    coefficients (widths and places drawn at random). Masked cells take the row's mean of their
    coefficient: the band says nothing over time but keeps its level (a 0 would be a loud new
    feature in MFCCs, whose first coefficient sits far below 0).
    """
    X = np.array(X, dtype=np.float32, copy=True)
    frames, coefs = X.shape[1:]
    for row in X:
        mean = row.mean(axis=0)
        width = int(rng.integers(0, min(settings.get("time_mask", 0), frames) + 1))
        if width:
            start = int(rng.integers(0, frames - width + 1))
            row[start:start + width] = mean
        width = int(rng.integers(0, min(settings.get("coef_mask", 0), coefs) + 1))
        if width:
            start = int(rng.integers(0, coefs - width + 1))
            row[:, start:start + width] = mean[start:start + width]
    return X


def _copies_of_track(fs: FeatureSet, t: int, settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """Every copy of track ``t``: MFCC rows and their segment indices."""
    p = fs.params
    rows = np.flatnonzero(fs.track == t)
    audio = needs_audio(settings)
    if audio:
        limit = p.duration + _READ_MARGIN_S if p.excerpt == "start" else None
        part, segments = excerpt(load_audio(Path(fs.root) / fs.files[t], sample_rate=p.sample_rate,
                                            max_seconds=limit), p)
        kept = set(fs.segment[rows].tolist())
        segments = [d for d in segments if d in kept]  # the segments the original kept
    X, index = [], []
    for k in range(settings["augment_copies"]):
        rng = np.random.default_rng([t, k])
        if audio:
            y = augment_signal(part, sample_rate=p.sample_rate, settings=settings, rng=rng)
            fits = [d for d in segments if (d + 1) * p.segment_samples <= len(y)]  # a faster copy is shorter
            mfcc, seg = segment_mfccs(y, params=p, segments=fits)
        else:
            mfcc, seg = fs.X[rows], fs.segment[rows]
        X.append(mask_rows(mfcc, settings=settings, rng=rng))
        index.append(seg)
    return np.concatenate(X), np.concatenate(index)


def preview(fs: FeatureSet, track: int, settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """The first kept segment of ``track`` and the same segment of its first augmented copy.

    Returns
    -------
    original, copy : np.ndarray [shape=(frames, n_mfcc)]
    """
    X, index = _copies_of_track(fs, track, {**settings, "augment_copies": 1})
    rows = np.flatnonzero(fs.track == track)
    if not len(X):
        raise TrainingError(f"the copy of {fs.files[track]} is too short for a single segment")
    original = rows[np.flatnonzero(fs.segment[rows] == index[0])[0]]
    return fs.X[original], X[0]


def augment_features(fs: FeatureSet, settings: dict, *, jobs: int = -1, on_progress=None,
                     stop: threading.Event | None = None) -> FeatureSet:
    """The augmented copies of every track of ``fs``, as a feature set of the same files and genres.

    Rows carry their source track (``track``, an index into ``fs.files``) and segment. Needs the
    audio (``fs.root``) unless only masks are asked for. A track whose file cannot be read any more
    gets no copies (logged).

    Raises
    ------
    TrainingError
        ``fs`` does not record its tracks (the notebook's JSON), or its audio folder is gone.
    Cancelled
        ``stop`` was set.
    """
    if not fs.has_tracks:
        raise TrainingError("augmentation needs features that record the track of each row (the notebook's JSON "
                            "does not)")
    if needs_audio(settings) and not Path(fs.root).is_dir():
        raise TrainingError(f"pitch shift, time stretch and noise need the tracks' audio, but the dataset folder "
                            f"{fs.root or '(unknown)'} is not there")
    tracks = np.unique(fs.track).tolist()

    def one(t: int):
        try:
            return t, _copies_of_track(fs, t, settings)
        except AudioError as exc:
            log.warning("no augmented copies of %s: %s", fs.files[t], exc)
            return t, None

    if jobs == 1 or len(tracks) <= 1:
        results = map(one, tracks)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=jobs, backend="threading", return_as="generator_unordered")(
            delayed(one)(t) for t in tracks)
    got: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for done, (t, copies) in enumerate(results, start=1):
        if copies is not None:
            got[t] = copies
        if on_progress is not None:
            on_progress(done, len(tracks))
        if stop is not None and stop.is_set():
            raise Cancelled(f"augmentation stopped after {done} of {len(tracks)} tracks")
    label = {t: int(fs.y[np.argmax(fs.track == t)]) for t in got}
    order = sorted(got)
    empty = np.zeros((0, *fs.X.shape[1:]), np.float32)
    X = np.concatenate([got[t][0] for t in order]) if order else empty
    track = np.concatenate([np.full(len(got[t][1]), t, np.int32) for t in order]) if order else np.zeros(0, np.int32)
    return FeatureSet(X=X, y=np.asarray([label[t] for t in track.tolist()], dtype=np.int64), genres=fs.genres,
                      files=fs.files, track=track,
                      segment=np.concatenate([got[t][1] for t in order]).astype(np.int32) if order else track.copy(),
                      params=fs.params, key=augmented_key(fs, settings), root=fs.root,
                      meta={"augmentation": settings, "source_key": fs.key})


def augmented_key(fs: FeatureSet, settings: dict) -> str:
    """Cache key of the copies: the source features' key and the settings."""
    ident = json.dumps({"source": fs.key, **settings}, sort_keys=True)
    return hashlib.sha256(ident.encode()).hexdigest()[:20]


def augmented_path(features_path: str | Path, fs: FeatureSet, settings: dict) -> Path:
    """Where the copies of the store ``features_path`` with ``settings`` are cached (next to it)."""
    path = Path(features_path)
    return path.with_name(f"{path.stem}.aug-{augmented_key(fs, settings)}.npz")


def load_or_augment(fs: FeatureSet, features_path: str | Path, config: TrainConfig, *, jobs: int = -1,
                    on_progress=None, stop=None) -> FeatureSet | None:
    """The augmented copies ``config`` asks for: from the cache, else computed and cached. None: no augmentation."""
    settings = config.augmentation()
    if settings is None:
        return None
    check_features(fs.params, train=config)
    path = augmented_path(features_path, fs, settings)
    if path.is_file():
        try:
            cached = load_features(path)
            if cached.key == augmented_key(fs, settings):
                return cached
        except Exception as exc:  # a damaged cache is recomputed, never trusted
            log.warning("ignoring the augmentation cache %s: %s", path, exc)
    started = time.perf_counter()
    aug = augment_features(fs, settings, jobs=jobs, on_progress=on_progress, stop=stop)
    aug.meta["seconds"] = round(time.perf_counter() - started, 3)
    save_features(aug, path)
    return aug


def training_copies(aug: FeatureSet, fs: FeatureSet, train: np.ndarray) -> np.ndarray:
    """Rows of ``aug`` that are copies of the training rows ``train`` of ``fs``.

    A copy goes with its source (track, segment): with a split by track that is every copy of a
    training track; with the notebook's split of segments, the copies of the training segments.
    Copies of test or validation rows are never returned.
    """
    source = set(zip(fs.track[train].tolist(), fs.segment[train].tolist()))
    pairs = zip(aug.track.tolist(), aug.segment.tolist())
    return np.asarray([i for i, pair in enumerate(pairs) if pair in source], dtype=np.int64)


__all__ = ["SUGGESTED", "augment_features", "describe", "augment_signal", "augmented_path", "load_or_augment", "mask_rows", "preview",
           "training_copies"]
