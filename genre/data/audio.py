"""Reading audio: mono float32 at a chosen sample rate, from any format libsndfile reads.

This is what ``librosa.load(path, sr=sr)`` does for these formats (soundfile, then a mean
over channels, then soxr's HQ resampler), without importing librosa.

Bytes and file objects (uploads) are decoded from a temporary file named like the upload, so they
decode exactly like files: libsndfile recognises some files only by their extension (an MP3 whose
ID3v2 tag is followed by an ID3v1 block, say), and a damaged header can make it seek before the
start, which soundfile's file-object callbacks cannot report. What is decoded is bounded before
anything is allocated: a corrupt header can claim terabytes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from genre.data.dataset import AUDIO_EXTENSIONS
from genre.errors import AudioError


def _max_decoded_seconds() -> float:
    """``$GENRE_MAX_AUDIO_SECONDS`` (a shared server may want less), else 600: 10 minutes, any song."""
    value = os.environ.get("GENRE_MAX_AUDIO_SECONDS", "")
    try:
        return float(value) if value.strip() and float(value) > 0 else 600.0
    except ValueError:
        return 600.0


MAX_DECODED_SECONDS = _max_decoded_seconds()  # longer files are refused unless asked for
MAX_SAMPLE_RATE = 768_000  # the highest rate audio interfaces record at; beyond it a header is corrupt
_BLOCK_SAMPLES = 1 << 22  # samples read at a time, each block mixed to mono: memory holds the mono signal


def load_audio(source: str | Path | bytes | BinaryIO, *, sample_rate: int, max_seconds: float | None = None,
               name: str | None = None, max_decoded_seconds: float = MAX_DECODED_SECONDS) -> np.ndarray:
    """Decode an audio file to mono float32 at ``sample_rate``.

    Parameters
    ----------
    source : path, bytes or binary file object
        WAV, FLAC, OGG/Vorbis, MP3, AU or AIFF.
    sample_rate : int
        Target rate; the signal is resampled (soxr, high quality) when the file's differs.
    max_seconds : float, optional
        Read only this much from the start of the file.
    name : str, optional
        The file's name, for bytes and file objects (default: the file object's ``name``). Its
        extension tells the decoder the format, as a path's does; errors name it.
    max_decoded_seconds : float
        Refuse to decode more than this (after ``max_seconds``), judged from the file's header.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]

    Raises
    ------
    AudioError
        The file is missing, cannot be decoded, or is longer than ``max_decoded_seconds``.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            what = "is a folder, not an audio file" if path.is_dir() else "not found"
            raise AudioError(f"audio file {what}: {source}")
        y, native = _decode(str(path), str(source), max_seconds, max_decoded_seconds)
        return _finish(y, native, sample_rate, str(source))
    data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else source.read()
    own = getattr(source, "name", None)
    name = name or (own if isinstance(own, str) else None)
    label = name or "the audio data"
    with _staged(data, _suffix(name, data)) as path:
        y, native = _decode(path, label, max_seconds, max_decoded_seconds)
    return _finish(y, native, sample_rate, label)


def _suffix(name: str | None, data: bytes) -> str:
    """The extension to decode ``data`` under: the name's when it is an audio format's; MP3 after an ID3 tag."""
    ext = Path(name).suffix.lower() if name else ""
    if ext in AUDIO_EXTENSIONS:
        return ext
    return ".mp3" if data[:3] == b"ID3" else ""


@contextlib.contextmanager
def _staged(data: bytes, suffix: str) -> Iterator[str]:
    """``data`` in a private temporary file ending in ``suffix``, removed afterwards."""
    fd, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield path
    finally:
        os.unlink(path)


def _decode(source: str, name: str, max_seconds: float | None, max_decoded_seconds: float) -> tuple[np.ndarray, int]:
    """The mono signal at the file's own rate, and that rate. Every decoder failure is an AudioError."""
    import soundfile as sf

    try:
        with sf.SoundFile(source) as f:
            frames = f.frames if max_seconds is None else min(f.frames, int(np.ceil(max_seconds * f.samplerate)))
            _check_size(name, f.samplerate, f.channels, frames, max_decoded_seconds)
            return _read_mono(f, frames), f.samplerate
    except AudioError:
        raise
    except MemoryError:
        raise AudioError(f"cannot decode {name}: it needs more memory than there is (a corrupt header?)") from None
    except Exception as exc:  # libsndfile and its codecs fail in many ways on bad input
        reason = (getattr(exc, "error_string", None) or str(exc)).replace(source, name)
        if os.path.isfile(source) and os.path.getsize(source) == 0:
            raise AudioError(f"{name} is empty (0 bytes)") from None
        if any(words in reason for words in _NOT_AUDIO):
            raise AudioError(f"{name} is not an audio file, or not in a format that can be read here "
                             f"({', '.join(sorted(e.lstrip('.') for e in AUDIO_EXTENSIONS))})") from None
        raise AudioError(f"cannot decode {name}: {reason}") from None


# What libsndfile says when the bytes are no audio at all: it finds no format, or (its MP3 decoder, given text
# named .mp3) "File does not exist or is not a regular file", of a file that does exist.
_NOT_AUDIO = ("Format not recognised", "File does not exist or is not a regular file")


def _check_size(name: str, rate: int, channels: int, frames: int, max_decoded_seconds: float) -> None:
    if not 0 < rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"cannot decode {name}: its header gives a sample rate of {rate} Hz (a corrupt header?)")
    if channels < 1:
        raise AudioError(f"cannot decode {name}: its header gives {channels} channels")
    seconds = frames / rate
    if seconds > max_decoded_seconds:
        raise AudioError(f"{name} is {_duration(seconds)} long; at most {_duration(max_decoded_seconds)} is decoded "
                         f"(max_decoded_seconds={max_decoded_seconds:g}): use a shorter excerpt")


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:,.1f} min ({seconds:,.0f} s)"


def _read_mono(f, frames: int) -> np.ndarray:
    """Read ``frames`` frames of the open SoundFile ``f`` block by block, mixing each to mono."""
    block = max(1, _BLOCK_SAMPLES // f.channels)
    pcm16 = f.subtype == "PCM_16"
    parts = []
    while frames > 0:
        n = min(block, frames)
        if pcm16:
            # libsndfile's own int16 -> float conversion costs ~10x the read; its result is the
            # sample times the float32 1/32768, which numpy gives bit for bit, faster.
            x = f.read(frames=n, dtype="int16", always_2d=True).astype(np.float32)
            x *= np.float32(1 / 32768)
        else:
            x = f.read(frames=n, dtype="float32", always_2d=True)
        parts.append(x.mean(axis=1, dtype=np.float32) if x.shape[1] > 1 else x[:, 0])
        if len(x) < n:
            break
        frames -= n
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _finish(y: np.ndarray, native: int, sample_rate: int, name: str) -> np.ndarray:
    if native != sample_rate and y.size:
        import soxr

        y = soxr.resample(y, native, sample_rate, quality="HQ").astype(np.float32, copy=False)
    if not np.all(np.isfinite(y)):
        raise AudioError(f"{name} decodes to non-finite samples")
    return np.ascontiguousarray(y, dtype=np.float32)


def find_unreadable(paths: list[Path]) -> list[tuple[Path, str]]:
    """Files whose headers libsndfile cannot parse, with the reason (cheap: no decoding)."""
    import soundfile as sf

    bad = []
    for path in paths:
        try:
            info = sf.info(str(path))
            if info.frames <= 0:
                bad.append((path, "no audio frames"))
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            bad.append((path, getattr(exc, "error_string", None) or str(exc)))
    return bad
