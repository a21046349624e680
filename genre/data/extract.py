"""Extracting a dataset's features (MFCCs, or musicnn's embeddings): in parallel over files, cached, with progress
and stop.

Runs in-process (``jobs=1``), on a pool of threads through joblib (``jobs>1``), or on a Dask
cluster (``dask_client=``) whose workers see the same files. Threads for up to a few hundred files: most of
the hot path (libsndfile, FFT, log) releases the GIL and a thread pool starts at once; processes (joblib's loky,
fork+exec) from :data:`PROCESS_MIN_FILES` on, where their full use of the cores pays for their start-up.
Embeddings go one file at a time: the network's batches use every core.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from genre.data.audio import load_audio
from genre.data.dataset import Dataset, scan_dataset
from genre.data.features import excerpt, segment_rows, segments_per_track
from genre.data.params import FeatureParams
from genre.data.store import FeatureSet, cache_key, file_stamp, load_features, save_features
from genre.errors import AudioError, Cancelled, DatasetError, FeatureStoreError, GenreError, ParameterError

log = logging.getLogger("genre")

ProgressFn = Callable[[int, int], None]

# Read a little past `duration` so the resampler's edge never touches the samples we use.
_READ_MARGIN_S = 0.25


def extract_file(path: str | Path, *, params: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """Rows (MFCCs or embeddings: ``params.features``) and segment indices of one file's excerpt (see
    :func:`genre.data.features.excerpt`).

    The notebook's ``"start"`` reads only the first ``duration`` seconds; ``"middle"`` and
    ``"whole"`` decode the whole file (up to :data:`genre.data.audio`'s cap on decoded length).
    """
    limit = params.duration + _READ_MARGIN_S if params.excerpt == "start" else None
    y = load_audio(path, sample_rate=params.sample_rate, max_seconds=limit)
    part, segments = excerpt(y, params)
    return segment_rows(part, params=params, segments=segments)


def _extract_safe(path: Path, params: FeatureParams):
    try:
        mfcc, index = extract_file(path, params=params)
        return mfcc, index, None
    except AudioError as exc:
        return None, None, str(exc)


# From this many files on, two processes beat two threads (they scale 2x where the GIL holds threads to ~1.5x) by
# more than a process pool's start-up (~0.3 s): measured on 2 cores, 30 s tracks, 5 segments: 200 files, threads
# 1.18 s, processes 1.31 s cold / 0.91 s warm; 1,000 files, threads 5.6-5.9 s, processes 4.4-4.7 s.
PROCESS_MIN_FILES = 400


def _indexed(i: int, path: Path, params: FeatureParams):
    return i, _extract_safe(path, params)


def _results(paths: list[Path], params: FeatureParams, jobs: int, dask_client):
    """Yield ``(i, (mfcc, index, error))`` for every path, in any order."""
    if dask_client is not None:
        from dask.distributed import as_completed

        futures = dask_client.map(_extract_safe, paths, params=params, pure=False)
        position = {f.key: i for i, f in enumerate(futures)}
        try:
            for future, result in as_completed(futures, with_results=True):
                yield position[future.key], result
        finally:
            dask_client.cancel(futures)
    elif jobs == 1 or len(paths) <= 1 or params.kind.network:  # a network's predict uses every core already
        for i, path in enumerate(paths):
            yield i, _extract_safe(path, params)
    else:
        from joblib import Parallel, delayed

        # loky: processes started by fork+exec, so safe from any caller (its batches spare pickling per file).
        processes = len(paths) >= PROCESS_MIN_FILES
        parallel = Parallel(n_jobs=jobs, backend="loky" if processes else "threading",
                            return_as="generator_unordered", batch_size=8 if processes else 1)
        yield from parallel(delayed(_indexed)(i, p, params) for i, p in enumerate(paths))


def default_jobs(n_files: int) -> int:
    """Threads for extracting ``n_files`` in the app: two (this machine's cores) once there are enough files to
    share, else one (a thread pool costs more than it saves on a handful)."""
    return 2 if n_files >= 16 else 1


def expected_rows(dataset: Dataset, params: FeatureParams) -> int:
    """The training rows ``params`` make of ``dataset`` when every clip is long enough (with the whole track: at
    most this many)."""
    fpg = params.files_per_genre
    n_files = sum(len(f) if fpg == -1 else min(len(f), fpg) for f in dataset.files)
    return n_files * segments_per_track(params)


def _check_jobs(jobs: int) -> None:
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs == 0:
        raise ParameterError(f"jobs must be a number of threads (1 or more), or -1 for one per core, got {jobs!r}")


def extract_features(dataset: Dataset, params: FeatureParams, *, jobs: int = 1,
                     on_progress: ProgressFn | None = None, stop: threading.Event | None = None,
                     dask_client=None) -> FeatureSet:
    """MFCC rows of every selected file of ``dataset``.

    Unreadable files are skipped, logged with their name, and listed in ``FeatureSet.skipped``
    (so is a file deleted before it was read). Memory holds the features once: rows are written
    into one preallocated array. The cache key is taken before any file is read, so a file
    edited meanwhile makes the next extraction read it again (and is logged).

    Parameters
    ----------
    jobs : int
        Worker threads (joblib); -1 for one per core (-2: all but one, and so on).
    on_progress : callable(done, total), optional
    stop : threading.Event, optional
        When set, extraction stops and :class:`~genre.errors.Cancelled` is raised.
    dask_client : dask.distributed.Client, optional
        Run on this cluster instead of local processes.
    """
    params.validate()
    _check_jobs(jobs)
    paths = [p for paths in dataset.files for p in paths]
    labels = np.asarray([label for label, paths in enumerate(dataset.files) for _ in paths], dtype=np.int64)
    total = len(paths)
    per = segments_per_track(params)
    X = np.empty((total * per, *params.input_shape), dtype=np.float32)
    rows = np.full((total, per), -1, dtype=np.int32)  # row of a track's k-th segment, -1 when dropped
    seg_index = np.zeros((total, per), dtype=np.int32)  # which segment of the track that is
    skipped: list[tuple[str, str]] = []
    filled = 0
    # Key first, stamps second: a file changed between the two still leaves a key that is not its new content's.
    key = cache_key(params, paths, dataset.root)
    stamps = [file_stamp(p) for p in paths]
    gen = _results(paths, params, jobs, dask_client)
    try:
        for done, (i, (mfcc, index, error)) in enumerate(gen, start=1):
            if error is not None:
                log.warning("skipped %s: %s", paths[i], error)
                skipped.append((paths[i].relative_to(dataset.root).as_posix(), error))
            else:
                X[filled:filled + len(mfcc)] = mfcc
                rows[i, :len(index)] = np.arange(filled, filled + len(mfcc))
                seg_index[i, :len(index)] = index
                filled += len(mfcc)
            if on_progress is not None:
                on_progress(done, total)
            if stop is not None and stop.is_set():
                raise Cancelled(f"extraction stopped after {done} of {total} files")
    finally:
        getattr(gen, "close", lambda: None)()
    # Rows in (track, segment) order whatever order the workers finished in.
    track, k = np.nonzero(rows >= 0)
    order, segment = rows[track, k], seg_index[track, k]
    X = X[:filled][order] if not np.array_equal(order, np.arange(filled)) else X[:filled]
    skipped.sort()
    changed = [p.relative_to(dataset.root).as_posix() for p, st in zip(paths, stamps) if file_stamp(p) != st]
    if changed:
        log.warning("%d file(s) changed during extraction (%s): the next extraction reads them again",
                    len(changed), ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else ""))
    return FeatureSet(X=X, y=labels[track], genres=dataset.genres,
                      files=tuple(p.relative_to(dataset.root).as_posix() for p in paths),
                      track=track.astype(np.int32), segment=segment.astype(np.int32), params=params,
                      skipped=tuple(skipped), key=key,
                      root=str(dataset.root))


def extract_to_store(root: str | Path, params: FeatureParams, out: str | Path, *, jobs: int = 1,
                     on_progress: ProgressFn | None = None, stop: threading.Event | None = None,
                     dask_client=None, force: bool = False) -> tuple[FeatureSet, bool]:
    """Extract ``root`` into the store ``out`` unless it already holds these features.

    Returns
    -------
    features : FeatureSet
    cache_hit : bool
        True when ``out`` already held features of the same parameters and unchanged files.

    Raises
    ------
    DatasetError
        Also when no file gave a single segment (every file unreadable, or parameters that
        drop every segment).
    """
    params.validate()
    _check_jobs(jobs)
    dataset = scan_dataset(root, files_per_genre=params.files_per_genre, exclude=params.exclude)
    cached = None if force else _cached(dataset, params, Path(out))
    if cached is not None:
        return cached, True
    fs = extract_features(dataset, params, jobs=jobs, on_progress=on_progress, stop=stop, dask_client=dask_client)
    if len(fs) == 0:
        why = " ".join(params.problems()) or f"all {len(fs.skipped)} file(s) were unreadable or too short"
        raise DatasetError(f"no MFCC rows were extracted: {why}")
    save_features(fs, out)
    return fs, False


def _cached(dataset: Dataset, params: FeatureParams, out: Path, load=None) -> FeatureSet | None:
    if not out.is_file():
        return None
    key = cache_key(params, [p for paths in dataset.files for p in paths], dataset.root)
    try:
        cached = (load or load_features)(out)
    except FeatureStoreError:
        return None
    return cached if cached.key == key else None


def load_cached(root: str | Path, params: FeatureParams, out: str | Path, *, load=None) -> FeatureSet | None:
    """The features in ``out`` when they are ``root``'s with ``params``, files unchanged; else None.

    Never extracts (cheap: a scan, a stat per file, one load), so an app can bring back a session's
    features after a reload. Never raises for a missing or changed folder either. ``load(path)`` reads
    the store (default :func:`genre.data.store.load_features`; the app passes one that shares it between sessions).
    """
    try:
        dataset = scan_dataset(root, files_per_genre=params.validate().files_per_genre, exclude=params.exclude)
        return _cached(dataset, params, Path(out), load)
    except (GenreError, OSError):
        return None
