"""MFCCs per segment, the notebook's way, computed one batch per track.

The notebook calls ``librosa.feature.mfcc`` once per segment. :func:`segment_mfccs` computes
every segment of a track in one vectorised float32 pass (framed FFT, mel filterbank, dB,
DCT) and gives the same numbers: centred frames with zero padding at each segment's edges,
and the 80 dB floor of ``power_to_db`` taken per segment, not per track (a batched
``librosa.feature.mfcc`` call would lift the floor of quiet segments to the loudest one's).
It needs neither librosa nor numba, so worker processes start in a fraction of a second.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

from genre.data.params import FeatureParams
from genre.data.spectral import N_MELS, hann, mel_filterbank

TOP_DB = 80.0  # librosa.power_to_db's default
AMIN = 1e-10
# Windowed frames per FFT call: 64 frames at n_fft=2048, ~1 MB with their spectrum, inside a core's
# L2. Smaller blocks are as fast on one thread but cost more GIL hand-overs between two (measured on
# 2 threads: 4.6 ms per track at 512 KB, 6.2 at 128 KB, 6.2 at 4 MB).
FFT_BLOCK_BYTES = 1 << 19


@lru_cache(maxsize=16)
def _mel_basis_t(sample_rate: int, n_fft: int):
    """The filterbank, transposed and sparse: the product then runs in a fixed order, so features do not
    depend on how many BLAS threads a process has (joblib's workers get one, the main process several)."""
    import scipy.sparse

    return scipy.sparse.csc_array(mel_filterbank(sample_rate, n_fft).T)


def segments_per_track(params: FeatureParams) -> int:
    """The most segments one track gives: those of ``duration`` that the notebook's rule keeps, or with
    ``excerpt="whole"`` at most ``max_segments`` (a shorter track gives fewer)."""
    if params.excerpt == "whole":
        return params.max_segments
    return len(kept_segments(params.samples_per_track, params))


def clip_mfccs(y: np.ndarray, *, sample_rate: int, n_mfcc: int = 13, n_fft: int = 2048,
               hop_length: int = 512) -> np.ndarray:
    """MFCCs of a whole clip, as librosa computes them [shape=(frames, n_mfcc)]: what the Dataset page shows."""
    import librosa

    return librosa.feature.mfcc(y=y, sr=sample_rate, n_mfcc=n_mfcc, n_fft=n_fft, hop_length=hop_length).T


def kept_segments(n_samples: int, params: FeatureParams) -> list[int]:
    """Indices of the segments the notebook keeps for a signal of ``n_samples`` samples.

    Segment ``d`` covers ``signal[d*seg : (d+1)*seg]`` (shorter at the end of a short track)
    and is kept only when librosa gives it exactly ``ceil(seg / hop_length)`` frames (embeddings: when it is
    whole; :meth:`FeatureParams.keeps`).
    """
    seg = params.segment_samples
    return [d for d in range(params.num_segments) if params.keeps(min(seg, max(0, n_samples - d * seg)))]


def excerpt(y: np.ndarray, params: FeatureParams) -> tuple[np.ndarray, list[int]]:
    """The part of a decoded track its segments come from, and the segments of it to compute.

    ``params.excerpt``: ``"start"`` (the notebook's) takes the first ``duration`` seconds and
    ``"middle"`` the ``duration`` seconds around the middle, each cut into ``num_segments``
    segments; ``"whole"`` cuts the whole track into segments of that same length and keeps at most
    ``max_segments`` of them, evenly spread, so a 5-minute song is not represented by its intro.

    Returns
    -------
    part : np.ndarray [shape=(m,)]
    segments : list of int
        Segment indices into ``part`` (segment ``d`` is ``part[d*seg:(d+1)*seg]``).
    """
    n = params.samples_per_track
    if params.excerpt == "start":
        part = y[:n]
    elif params.excerpt == "middle":
        first = max(0, (len(y) - n) // 2)
        part = y[first:first + n]
    else:
        full = len(y) // params.segment_samples  # a partial last segment would have too few frames
        if not params.keeps(params.segment_samples) or full == 0:
            return y, []
        if full <= params.max_segments:
            return y, list(range(full))
        return y, sorted({int(round(i)) for i in np.linspace(0, full - 1, params.max_segments)})
    return part, kept_segments(len(part), params)


def segment_mfccs(y: np.ndarray, *, params: FeatureParams,
                  segments: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MFCCs of the notebook's segments of one track, in one batched pass.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal at ``params.sample_rate``.
    params : FeatureParams
    segments : list of int, optional
        Which segments to compute; default: those the notebook keeps (:func:`kept_segments`).
        Consecutive segments beyond ``num_segments`` are allowed (prediction on long clips).

    Returns
    -------
    mfcc : np.ndarray [shape=(k, frames_per_segment, n_mfcc), dtype=float32]
        Time-major, like the notebook's ``mfcc.T``.
    index : np.ndarray [shape=(k,), dtype=int32]
        The segment index of each row.
    """
    y = np.asarray(y, dtype=np.float32)
    seg, n_fft, hop = params.segment_samples, params.n_fft, params.hop_length
    n_frames = params.frames_per_segment
    index = np.asarray(kept_segments(len(y), params) if segments is None else segments, dtype=np.int32)
    if index.size == 0:
        return np.zeros((0, n_frames, params.n_mfcc), np.float32), index
    pad = n_fft // 2
    # Zero-padding a short last segment to full length leaves its first n_frames frames unchanged.
    width = max(seg + 2 * pad, (n_frames - 1) * hop + n_fft)
    window, basis = hann(n_fft), _mel_basis_t(params.sample_rate, n_fft)
    db = np.empty((index.size, n_frames, N_MELS), dtype=np.float32)
    padded = np.zeros(width, dtype=np.float32)
    # Frames go through the FFT a block at a time (FFT_BLOCK_BYTES), so that the windowed frames and
    # their spectrum stay in a core's L2 cache, into buffers reused for the whole track (no fresh
    # pages to fault in); the sparse mel product takes up to eight blocks at once. Each frame's
    # numbers are the same whatever the blocking; per track this is about 45% faster than a whole
    # segment at a time.
    block = min(n_frames, FFT_BLOCK_BYTES // (4 * n_fft) or 1)
    chunk = min(n_frames, 8 * block)
    windowed = np.empty((block, n_fft), dtype=np.float32)
    power = np.empty((chunk, n_fft // 2 + 1), dtype=np.float32)
    for row, d in enumerate(index):
        piece = y[d * seg:(d + 1) * seg]
        padded[:] = 0.0
        padded[pad:pad + piece.size] = piece
        frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:n_frames]
        for c in range(0, n_frames, chunk):
            end = min(c + chunk, n_frames)
            for b in range(c, end, block):
                e = min(b + block, end)
                w = windowed[:e - b]
                np.multiply(frames[b:e], window, out=w)
                spectrum = scipy.fft.rfft(w, axis=-1, overwrite_x=True)
                out = power[b - c:e - c]
                np.square(spectrum.real, out=out)
                out += np.square(spectrum.imag)
            db[row, c:end] = power[:end - c] @ basis  # (frames, n_mels)
    np.maximum(db, AMIN, out=db)
    np.log10(db, out=db)
    db *= 10.0
    floor = db.max(axis=(1, 2), keepdims=True) - TOP_DB  # per segment, as power_to_db on each
    np.maximum(db, floor, out=db)
    mfcc = scipy.fft.dct(db, type=2, norm="ortho", axis=-1)[..., :params.n_mfcc]
    return np.ascontiguousarray(mfcc, dtype=np.float32), index


def segment_rows(y: np.ndarray, *, params: FeatureParams,
                 segments: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The training rows of one track's segments, of the kind ``params.features`` (:data:`FEATURE_KINDS`):
    :func:`segment_mfccs`, or musicnn's embeddings (:func:`genre.data.musicnn.segment_embeddings`).

    Returns
    -------
    rows : np.ndarray [shape=(k, *params.input_shape), dtype=float32]
    index : np.ndarray [shape=(k,), dtype=int32]
    """
    if params.kind.grid:
        return segment_mfccs(y, params=params, segments=segments)
    from genre.data import musicnn

    index = kept_segments(len(y), params) if segments is None else segments
    return musicnn.segment_embeddings(musicnn.shared(), y, params=params, segments=index)


def notebook_segment_mfccs(y: np.ndarray, *, params: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """The notebook's loop: one ``librosa.feature.mfcc`` call per segment (reference, slow)."""
    import librosa

    seg, rows, index = params.segment_samples, [], []
    for d in range(params.num_segments):
        mfcc = librosa.feature.mfcc(y=y[seg * d:seg * (d + 1)], sr=params.sample_rate, n_mfcc=params.n_mfcc,
                                    n_fft=params.n_fft, hop_length=params.hop_length).T
        if len(mfcc) == params.frames_per_segment:
            rows.append(mfcc)
            index.append(d)
    shape = (0, params.frames_per_segment, params.n_mfcc)
    return (np.stack(rows).astype(np.float32) if rows else np.zeros(shape, np.float32),
            np.asarray(index, dtype=np.int32))
