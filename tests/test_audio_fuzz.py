"""Fuzzing the decoder: damaged files of every format give an AudioError or a signal, nothing else.

Valid small files are made here, then bytes are flipped, overwritten, spliced in from elsewhere in
the file, or cut off (mostly in the header, where a flipped bit makes a decoder ask for terabytes),
and fed to :func:`genre.data.audio.load_audio` from a path and from memory, and to
:func:`genre.learn.predict.predict_file` as an upload. Derandomized: every run tries the same inputs.
"""

import io

import numpy as np
import pytest
import soundfile as sf
from conftest import signal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genre.data.audio import load_audio
from genre.errors import AudioError
from genre.learn.predict import Prediction, predict_file

# An exception inside soundfile's C callbacks is only printed: here it fails the test.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")

FORMATS = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "mp3": "MP3", "au": "AU", "aiff": "AIFF"}
SR = 8000  # the tiny bundle's rate
HEADER = 512  # most mutations land in the first bytes, where the header is

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _valid(fmt: str) -> bytes:
    """1.2 s of stereo at 8 kHz: long enough for one of the tiny bundle's 1 s segments."""
    y = np.stack([signal("chirp", 1.2, SR, freq=300.0), signal("noise", 1.2, SR, amp=0.2)], axis=1)
    buf = io.BytesIO()
    sf.write(buf, y, SR, format=fmt)
    return buf.getvalue()


VALID = {ext: _valid(fmt) for ext, fmt in FORMATS.items() if fmt in sf.available_formats()}


@st.composite
def damaged(draw, data: bytes) -> bytes:
    """``data`` after 1-4 flips, overwrites, splices or a truncation."""
    out = bytearray(data)
    position = st.one_of(st.integers(0, HEADER - 1), st.integers(0, len(data) - 1))
    for _ in range(draw(st.integers(1, 4))):
        if not out:
            break
        kind = draw(st.sampled_from(["flip", "byte", "splice", "cut"]))
        at = draw(position) % len(out)
        if kind == "flip":
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            out[at] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255))]))
        elif kind == "splice":  # a run of the file's own bytes (plausible headers) put elsewhere
            start, length = draw(position) % len(data), draw(st.integers(1, 256))
            out[at:at + draw(st.integers(0, 8))] = data[start:start + length]
        else:
            del out[at:]
    return bytes(out)


def _decodes_or_audio_error(decode) -> np.ndarray | None:
    try:
        y = decode()
    except AudioError:
        return None
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.ndim == 1
    assert np.all(np.isfinite(y))
    return y


@pytest.mark.parametrize("ext", list(VALID))
def test_damaged_files_decode_or_raise_audio_error_from_a_path_and_from_memory(ext, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"fuzz-{ext}")

    @FUZZ
    @given(data=damaged(VALID[ext]))
    def check(data):
        path = folder / f"clip.{ext}"
        path.write_bytes(data)
        from_path = _decodes_or_audio_error(lambda: load_audio(path, sample_rate=SR))
        named = _decodes_or_audio_error(lambda: load_audio(data, sample_rate=SR, name=f"clip.{ext}"))
        _decodes_or_audio_error(lambda: load_audio(io.BytesIO(data), sample_rate=SR))
        # An upload with its name decodes exactly what the file decodes.
        assert (from_path is None) == (named is None)
        if from_path is not None:
            np.testing.assert_array_equal(named, from_path)

    check()


@pytest.mark.parametrize("ext", list(VALID))
def test_damaged_uploads_are_classified_or_rejected_with_an_audio_error(ext, bundle):
    @FUZZ
    @given(data=damaged(VALID[ext]))
    def check(data):
        try:
            pred = predict_file(bundle, data, name=f"upload.{ext}")
        except AudioError as exc:
            assert f"upload.{ext}" in str(exc)
            return
        assert isinstance(pred, Prediction) and pred.genre in bundle.genres
        assert np.all(np.isfinite(pred.segment_probabilities))

    check()
